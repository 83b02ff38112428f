/**
 * The ReplicationConfiguration XML document, both ways, with fast-xml-parser.
 *
 * Parsing is structural, like S3's own XML decoding: the document must be well-formed, have the
 * `ReplicationConfiguration` root (in the S3 namespace or none), each element must appear where
 * and as often as S3 allows, integers must be integers. Anything wrong throws a
 * `ReplicationXMLError` naming the element. Semantic rules (statuses, priorities, one
 * destination...) are `validateReplicationConfig`'s.
 *
 * `parseReplicationXML(buildReplicationXML(m))` equals `documentOf(m)` for every model: the only
 * thing not written is the operator's `destination.site`.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';

import { MAX_REPLICATION_DOCUMENT_BYTES } from '../api/replication-config.js';
import type {
  Destination,
  Filter,
  FilterAnd,
  Minutes,
  ReplicationConfig,
  ReplicationRule,
  SourceSelectionCriteria,
  StatusElement,
  Tag,
} from './replication-config.js';

/** The namespace S3 documents use (`xmlns` on the root). */
export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const ROOT = 'ReplicationConfiguration';

/** A document that is not a ReplicationConfiguration S3 would take, or a model XML cannot carry. */
export class ReplicationXMLError extends Error {
  override readonly name = 'ReplicationXMLError';
  /** The element at fault, e.g. `ReplicationConfiguration.Rule[1].Priority`, when known. */
  readonly element: string | undefined;

  constructor(message: string, element?: string, options?: ErrorOptions) {
    super(message, options);
    this.element = element;
  }
}

export interface ParseReplicationXMLOptions {
  /**
   * `reject` (default): an element S3 does not define is an error (a typo such as `<Priorty>`
   * would otherwise be dropped silently). `ignore`: skip it, as Go's decoder does (MinIO); use it
   * for documents read back from a site.
   */
  unknownElements?: 'reject' | 'ignore';
}

export interface BuildReplicationXMLOptions {
  /** Indent the document for people; the default is one line, as SDKs send it. */
  pretty?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Characters and entities

/** Characters XML 1.0 can carry (a lone surrogate is not one). */
const _NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const _PREDEFINED_ENTITIES = new Set(['lt', 'gt', 'amp', 'apos', 'quot']);

const _isXmlCodePoint = (c: number) =>
  c === 0x9 ||
  c === 0xa ||
  c === 0xd ||
  (c >= 0x20 && c <= 0xd7ff) ||
  (c >= 0xe000 && c <= 0xfffd) ||
  (c >= 0x10000 && c <= 0x10ffff);

/** Index of the first character XML 1.0 cannot carry, or -1. */
export function invalidXmlCharIndex(s: string): number {
  const m = _NOT_XML_CHAR.exec(s);
  return m === null ? -1 : m.index;
}

function _lineCol(text: string, index: number): string {
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  return `line ${line}, column ${index - before.lastIndexOf('\n')}`;
}

function _describeChar(s: string, index: number): string {
  const code = s.codePointAt(index) ?? 0;
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Checks what fast-xml-parser lets through but an XML parser (and S3) would not. */
function _checkLexical(xml: string): void {
  const bad = invalidXmlCharIndex(xml);
  if (bad >= 0) {
    throw new ReplicationXMLError(
      `character ${_describeChar(xml, bad)} at ${_lineCol(xml, bad)} is not allowed in XML`,
    );
  }
  // Outside CDATA sections and comments, a DOCTYPE or an undefined entity is not S3 XML.
  const markup = xml.replace(/<!\[CDATA\[[\s\S]*?\]\]>|<!--[\s\S]*?-->/g, (m) =>
    ' '.repeat(m.length),
  );
  const doctype = /<!DOCTYPE/i.exec(markup);
  if (doctype !== null) {
    throw new ReplicationXMLError(
      `DOCTYPE declarations are not allowed (${_lineCol(xml, doctype.index)})`,
    );
  }
  for (const m of markup.matchAll(/&([^;&<>\s]*);/g)) {
    const name = m[1] ?? '';
    const numeric = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(name);
    const ok = numeric
      ? _isXmlCodePoint(parseInt(numeric[1] ?? numeric[2] ?? '', numeric[1] ? 16 : 10))
      : _PREDEFINED_ENTITIES.has(name);
    if (!ok) {
      throw new ReplicationXMLError(
        `entity reference &${name.slice(0, 40)}; at ${_lineCol(xml, m.index)} is not defined in XML`,
      );
    }
  }
}

/** Escapes text content. `\r` becomes `&#13;` so that XML line-end handling keeps it. */
function _escape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\r/g, '&#13;');
}

// ---------------------------------------------------------------------------------------------
// Parsing

const _ATTR = '@_';
const _TEXT = '#text';

const _parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: _ATTR,
  textNodeName: _TEXT,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // Every element is an array, so that a repeated element is seen and reported.
  isArray: (_name, _jpath, _leaf, isAttribute) => !isAttribute,
  processEntities: true,
  // Decodes character references (&#65;); named HTML entities were rejected before parsing.
  htmlEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  removeNSPrefix: false,
});

type _Raw = Record<string, unknown>;
const _isRaw = (v: unknown): v is _Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One element with child elements, read by name while tracking which children were used. */
class _Element {
  private readonly used = new Set<string>();

  private constructor(
    readonly path: string,
    private readonly raw: _Raw,
    private readonly unknown: 'reject' | 'ignore',
  ) {}

  static of(value: unknown, path: string, unknown: 'reject' | 'ignore'): _Element {
    if (typeof value === 'string') {
      if (value.trim() !== '') {
        throw new ReplicationXMLError(`${path} must hold elements, not text`, path);
      }
      return new _Element(path, {}, unknown);
    }
    if (!_isRaw(value)) throw new ReplicationXMLError(`${path} is not an element`, path);
    const text = value[_TEXT];
    if (typeof text === 'string' && text.trim() !== '') {
      throw new ReplicationXMLError(`${path} must hold elements, not text`, path);
    }
    return new _Element(path, value, unknown);
  }

  attribute(name: string): string | undefined {
    const v = this.raw[`${_ATTR}${name}`];
    return typeof v === 'string' ? v : undefined;
  }

  private all(name: string): unknown[] {
    this.used.add(name);
    const v = this.raw[name];
    if (v === undefined) return [];
    return Array.isArray(v) ? v : [v];
  }

  private one(name: string): unknown {
    const all = this.all(name);
    if (all.length > 1) {
      throw new ReplicationXMLError(
        `${this.path}.${name} appears ${all.length} times; it is allowed once`,
        `${this.path}.${name}`,
      );
    }
    return all[0];
  }

  text(name: string): string | undefined {
    const v = this.one(name);
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v;
    const path = `${this.path}.${name}`;
    if (!_isRaw(v)) throw new ReplicationXMLError(`${path} must be text`, path);
    for (const key of Object.keys(v)) {
      if (key !== _TEXT && !key.startsWith(_ATTR)) {
        throw new ReplicationXMLError(`${path} must be text, not elements (found ${key})`, path);
      }
    }
    const text = v[_TEXT];
    return typeof text === 'string' ? text : '';
  }

  requiredText(name: string): string {
    const v = this.text(name);
    if (v === undefined) {
      throw new ReplicationXMLError(`${this.path} has no ${name}`, `${this.path}.${name}`);
    }
    return v;
  }

  int(name: string): number | undefined {
    const v = this.text(name);
    if (v === undefined) return undefined;
    const n = /^\s*[+-]?[0-9]+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n)) {
      const path = `${this.path}.${name}`;
      throw new ReplicationXMLError(`${path} must be an integer, not '${v.slice(0, 40)}'`, path);
    }
    return n;
  }

  child(name: string): _Element | undefined {
    const v = this.one(name);
    return v === undefined ? undefined : _Element.of(v, `${this.path}.${name}`, this.unknown);
  }

  requiredChild(name: string): _Element {
    const c = this.child(name);
    if (c === undefined) {
      throw new ReplicationXMLError(`${this.path} has no ${name}`, `${this.path}.${name}`);
    }
    return c;
  }

  children(name: string): _Element[] {
    return this.all(name).map((v, i) => _Element.of(v, `${this.path}.${name}[${i}]`, this.unknown));
  }

  /** Call once every known child was read: reports the unknown ones. */
  done(): void {
    if (this.unknown === 'ignore') return;
    for (const key of Object.keys(this.raw)) {
      if (key === _TEXT || key.startsWith(_ATTR) || this.used.has(key)) continue;
      throw new ReplicationXMLError(
        `${this.path} has an unknown element ${key.slice(0, 80)}`,
        `${this.path}.${key.slice(0, 80)}`,
      );
    }
  }
}

function _statusElement(parent: _Element, name: string): StatusElement | undefined {
  const e = parent.child(name);
  if (e === undefined) return undefined;
  const status = e.requiredText('Status');
  e.done();
  return { status };
}

function _minutes(parent: _Element, name: string): Minutes | undefined {
  const e = parent.child(name);
  if (e === undefined) return undefined;
  const minutes = e.int('Minutes');
  if (minutes === undefined) {
    throw new ReplicationXMLError(`${e.path} has no Minutes`, `${e.path}.Minutes`);
  }
  e.done();
  return { minutes };
}

function _tag(e: _Element): Tag {
  const tag = { key: e.requiredText('Key'), value: e.text('Value') ?? '' };
  e.done();
  return tag;
}

function _filter(e: _Element): Filter {
  const out: Filter = {};
  const prefix = e.text('Prefix');
  if (prefix !== undefined) out.prefix = prefix;
  const tag = e.child('Tag');
  if (tag !== undefined) out.tag = _tag(tag);
  const and = e.child('And');
  if (and !== undefined) {
    const parsed: FilterAnd = { tags: and.children('Tag').map(_tag) };
    const andPrefix = and.text('Prefix');
    if (andPrefix !== undefined) parsed.prefix = andPrefix;
    and.done();
    out.and = parsed;
  }
  e.done();
  return out;
}

function _sourceSelection(e: _Element): SourceSelectionCriteria {
  const out: SourceSelectionCriteria = {};
  const sse = _statusElement(e, 'SseKmsEncryptedObjects');
  if (sse !== undefined) out.sseKmsEncryptedObjects = sse;
  const replica = _statusElement(e, 'ReplicaModifications');
  if (replica !== undefined) out.replicaModifications = replica;
  e.done();
  return out;
}

function _destinationTiming(e: _Element, out: Destination): void {
  const metrics = e.child('Metrics');
  if (metrics !== undefined) {
    const status = metrics.requiredText('Status');
    const threshold = _minutes(metrics, 'EventThreshold');
    metrics.done();
    out.metrics = threshold === undefined ? { status } : { status, eventThreshold: threshold };
  }
  const rtc = e.child('ReplicationTime');
  if (rtc !== undefined) {
    const status = rtc.requiredText('Status');
    const time = _minutes(rtc, 'Time');
    rtc.done();
    out.replicationTime = time === undefined ? { status } : { status, time };
  }
}

function _destination(e: _Element): Destination {
  const out: Destination = {};
  const bucket = e.text('Bucket');
  if (bucket !== undefined) out.bucket = bucket;
  const account = e.text('Account');
  if (account !== undefined) out.account = account;
  const storageClass = e.text('StorageClass');
  if (storageClass !== undefined) out.storageClass = storageClass;
  const act = e.child('AccessControlTranslation');
  if (act !== undefined) {
    out.accessControlTranslation = { owner: act.requiredText('Owner') };
    act.done();
  }
  const enc = e.child('EncryptionConfiguration');
  if (enc !== undefined) {
    const key = enc.text('ReplicaKmsKeyID');
    enc.done();
    out.encryptionConfiguration = key === undefined ? {} : { replicaKmsKeyID: key };
  }
  _destinationTiming(e, out);
  e.done();
  return out;
}

function _rule(e: _Element): ReplicationRule {
  const id = e.text('ID');
  const priority = e.int('Priority');
  const status = e.requiredText('Status');
  const filter = e.child('Filter');
  const prefix = e.text('Prefix');
  const ssc = e.child('SourceSelectionCriteria');
  const rule: ReplicationRule = {
    status,
    destination: _destination(e.requiredChild('Destination')),
  };
  if (id !== undefined) rule.id = id;
  if (priority !== undefined) rule.priority = priority;
  if (filter !== undefined) rule.filter = _filter(filter);
  if (prefix !== undefined) rule.prefix = prefix;
  const dmr = _statusElement(e, 'DeleteMarkerReplication');
  if (dmr !== undefined) rule.deleteMarkerReplication = dmr;
  const dr = _statusElement(e, 'DeleteReplication');
  if (dr !== undefined) rule.deleteReplication = dr;
  const eor = _statusElement(e, 'ExistingObjectReplication');
  if (eor !== undefined) rule.existingObjectReplication = eor;
  if (ssc !== undefined) rule.sourceSelectionCriteria = _sourceSelection(ssc);
  e.done();
  return rule;
}

function _parseDocument(xml: string): _Raw {
  // fast-xml-parser 5 still ships its validator (deprecated for the separate fast-xml-validator).
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    const { msg, line, col } = valid.err as { msg: string; line: number; col?: number };
    const where = col === undefined ? `line ${line}` : `line ${line}, column ${col}`;
    throw new ReplicationXMLError(`malformed XML at ${where}: ${msg}`);
  }
  let doc: unknown;
  try {
    doc = _parser.parse(xml);
  } catch (e: unknown) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new ReplicationXMLError(`malformed XML: ${reason}`, undefined, { cause: e });
  }
  if (!_isRaw(doc)) throw new ReplicationXMLError('malformed XML: no root element');
  return doc;
}

function _root(doc: _Raw): unknown {
  const names = Object.keys(doc);
  const roots = names.flatMap((n) => (Array.isArray(doc[n]) ? (doc[n] as unknown[]) : [doc[n]]));
  if (names.length !== 1 || names[0] !== ROOT || roots.length !== 1) {
    const found = names.length === 0 ? 'none' : names.map((n) => n.slice(0, 80)).join(', ');
    throw new ReplicationXMLError(
      `the document must have one root element ${ROOT} (found ${found})`,
    );
  }
  return roots[0];
}

/**
 * Parses a `ReplicationConfiguration` document into the model. Throws `ReplicationXMLError`
 * (and nothing else) when the document is not one.
 */
export function parseReplicationXML(
  xml: string,
  options: ParseReplicationXMLOptions = {},
): ReplicationConfig {
  if (typeof xml !== 'string') throw new ReplicationXMLError('the document must be a string');
  const bytes = Buffer.byteLength(xml, 'utf8');
  if (bytes > MAX_REPLICATION_DOCUMENT_BYTES) {
    throw new ReplicationXMLError(
      `the document is ${bytes} bytes; S3 takes at most ${MAX_REPLICATION_DOCUMENT_BYTES}`,
    );
  }
  const text = xml.startsWith('\uFEFF') ? xml.slice(1) : xml;
  _checkLexical(text);
  const root = _Element.of(_root(_parseDocument(text)), ROOT, options.unknownElements ?? 'reject');
  const xmlns = root.attribute('xmlns');
  if (xmlns !== undefined && xmlns !== S3_XMLNS) {
    throw new ReplicationXMLError(
      `${ROOT} must be in the S3 namespace ${S3_XMLNS} or none, not '${xmlns.slice(0, 200)}'`,
      ROOT,
    );
  }
  const role = root.text('Role');
  const config: ReplicationConfig = { rules: root.children('Rule').map(_rule) };
  if (role !== undefined) config.role = role;
  root.done();
  return config;
}

// ---------------------------------------------------------------------------------------------
// Building

type _Node = string | { [name: string]: _Node | _Node[] };

class _Writer {
  constructor(readonly path: string) {}

  text(value: string, name: string): string {
    const bad = invalidXmlCharIndex(value);
    if (bad >= 0) {
      throw new ReplicationXMLError(
        `${this.path}.${name} holds ${_describeChar(value, bad)}, which XML cannot carry`,
        `${this.path}.${name}`,
      );
    }
    return _escape(value);
  }

  int(value: number, name: string): string {
    if (!Number.isSafeInteger(value)) {
      throw new ReplicationXMLError(
        `${this.path}.${name} must be an integer, not ${String(value)}`,
        `${this.path}.${name}`,
      );
    }
    return String(value);
  }

  at(name: string): _Writer {
    return new _Writer(`${this.path}.${name}`);
  }
}

const _statusNode = (w: _Writer, s: StatusElement): _Node => ({
  Status: w.text(s.status, 'Status'),
});
const _minutesNode = (w: _Writer, m: Minutes): _Node => ({ Minutes: w.int(m.minutes, 'Minutes') });
const _tagNode = (w: _Writer, t: Tag): _Node => ({
  Key: w.text(t.key, 'Key'),
  Value: w.text(t.value, 'Value'),
});

function _filterNode(w: _Writer, f: Filter): _Node {
  const node: Record<string, _Node | _Node[]> = {};
  if (f.prefix !== undefined) node['Prefix'] = w.text(f.prefix, 'Prefix');
  if (f.tag !== undefined) node['Tag'] = _tagNode(w.at('Tag'), f.tag);
  if (f.and !== undefined) {
    const aw = w.at('And');
    const and: Record<string, _Node | _Node[]> = {};
    if (f.and.prefix !== undefined) and['Prefix'] = aw.text(f.and.prefix, 'Prefix');
    if (f.and.tags.length > 0)
      and['Tag'] = f.and.tags.map((t, i) => _tagNode(aw.at(`Tag[${i}]`), t));
    node['And'] = and;
  }
  return node;
}

function _timingNodes(w: _Writer, d: Destination, node: Record<string, _Node | _Node[]>): void {
  if (d.replicationTime !== undefined) {
    const rw = w.at('ReplicationTime');
    const rtc: Record<string, _Node> = { Status: rw.text(d.replicationTime.status, 'Status') };
    if (d.replicationTime.time !== undefined)
      rtc['Time'] = _minutesNode(rw.at('Time'), d.replicationTime.time);
    node['ReplicationTime'] = rtc;
  }
  if (d.metrics !== undefined) {
    const mw = w.at('Metrics');
    const metrics: Record<string, _Node> = { Status: mw.text(d.metrics.status, 'Status') };
    if (d.metrics.eventThreshold !== undefined) {
      metrics['EventThreshold'] = _minutesNode(mw.at('EventThreshold'), d.metrics.eventThreshold);
    }
    node['Metrics'] = metrics;
  }
}

function _destinationNode(w: _Writer, d: Destination): _Node {
  if (d.bucket === undefined && d.site !== undefined) {
    throw new ReplicationXMLError(
      `${w.at('Bucket').path} is not known yet: the remote target on site ${d.site.name} has no ARN; resolve site destinations first`,
    );
  }
  const node: Record<string, _Node | _Node[]> = {};
  if (d.bucket !== undefined) node['Bucket'] = w.text(d.bucket, 'Bucket');
  if (d.account !== undefined) node['Account'] = w.text(d.account, 'Account');
  if (d.storageClass !== undefined) node['StorageClass'] = w.text(d.storageClass, 'StorageClass');
  if (d.accessControlTranslation !== undefined) {
    const aw = w.at('AccessControlTranslation');
    node['AccessControlTranslation'] = {
      Owner: aw.text(d.accessControlTranslation.owner, 'Owner'),
    };
  }
  if (d.encryptionConfiguration !== undefined) {
    const { replicaKmsKeyID } = d.encryptionConfiguration;
    const ew = w.at('EncryptionConfiguration');
    node['EncryptionConfiguration'] =
      replicaKmsKeyID === undefined
        ? {}
        : { ReplicaKmsKeyID: ew.text(replicaKmsKeyID, 'ReplicaKmsKeyID') };
  }
  _timingNodes(w, d, node);
  return node;
}

function _ruleNode(w: _Writer, r: ReplicationRule): _Node {
  const node: Record<string, _Node | _Node[]> = {};
  if (r.id !== undefined) node['ID'] = w.text(r.id, 'ID');
  if (r.priority !== undefined) node['Priority'] = w.int(r.priority, 'Priority');
  node['Status'] = w.text(r.status, 'Status');
  if (r.prefix !== undefined) node['Prefix'] = w.text(r.prefix, 'Prefix');
  if (r.filter !== undefined) node['Filter'] = _filterNode(w.at('Filter'), r.filter);
  const statuses = [
    ['DeleteMarkerReplication', r.deleteMarkerReplication],
    ['DeleteReplication', r.deleteReplication],
    ['ExistingObjectReplication', r.existingObjectReplication],
  ] as const;
  for (const [name, s] of statuses) if (s !== undefined) node[name] = _statusNode(w.at(name), s);
  const ssc = r.sourceSelectionCriteria;
  if (ssc !== undefined) {
    const sw = w.at('SourceSelectionCriteria');
    const sscNode: Record<string, _Node> = {};
    if (ssc.sseKmsEncryptedObjects !== undefined) {
      sscNode['SseKmsEncryptedObjects'] = _statusNode(
        sw.at('SseKmsEncryptedObjects'),
        ssc.sseKmsEncryptedObjects,
      );
    }
    if (ssc.replicaModifications !== undefined) {
      sscNode['ReplicaModifications'] = _statusNode(
        sw.at('ReplicaModifications'),
        ssc.replicaModifications,
      );
    }
    node['SourceSelectionCriteria'] = sscNode;
  }
  node['Destination'] = _destinationNode(w.at('Destination'), r.destination);
  return node;
}

/** Text is escaped by `_Writer`, so the builder only lays elements out. */
function _newBuilder(format: boolean) {
  // fast-xml-parser 5 re-exports fast-xml-builder's XMLBuilder (deprecated there in favour of a
  // direct dependency on fast-xml-builder, which this project does not declare).
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  return new XMLBuilder({
    processEntities: false,
    suppressEmptyNode: false,
    format,
    indentBy: '  ',
    ignoreAttributes: false,
    attributeNamePrefix: _ATTR,
  });
}
const _builders = { compact: _newBuilder(false), pretty: _newBuilder(true) };

/**
 * The `ReplicationConfiguration` document of a model, as S3 and MinIO take it (S3 namespace,
 * UTF-8 declaration). Throws `ReplicationXMLError` when the model holds something XML cannot
 * carry (a control character, a non-integer priority) or a site destination without its ARN.
 */
export function buildReplicationXML(
  config: ReplicationConfig,
  options: BuildReplicationXMLOptions = {},
): string {
  const w = new _Writer(ROOT);
  const root: Record<string, _Node | _Node[]> = { [`${_ATTR}xmlns`]: S3_XMLNS };
  if (config.role !== undefined) root['Role'] = w.text(config.role, 'Role');
  root['Rule'] = config.rules.map((r, i) => _ruleNode(w.at(`Rule[${i}]`), r));
  const builder = options.pretty === true ? _builders.pretty : _builders.compact;
  const body: string = builder.build({ [ROOT]: root });
  return `<?xml version="1.0" encoding="UTF-8"?>${options.pretty === true ? '\n' : ''}${body}`;
}
