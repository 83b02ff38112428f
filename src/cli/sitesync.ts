#!/usr/bin/env node
/**
 * `sitesync validate -f FILE [-f FILE...]`: checks sitesync resources offline, before they are
 * applied (CI, GitOps pipelines). Each file is YAML with one or more documents of any kind
 * (documents of other API groups are skipped), or a raw ReplicationConfiguration XML document.
 * Checks: what admission checks (the zod schema of the kind, the cross-field rules the
 * apiserver runs as CEL, and src/api/admission.ts: unknown fields, list-map keys, metadata) and,
 * for a BucketReplication (or raw XML), the replication rules of the source site's flavor.
 * Files are read as kubectl reads them, within bounds (_read-input.ts, _yaml-documents.ts).
 * Prints `FILE: Kind/name: path: message` per error, or `FILE: message` for a file that cannot
 * be read; never throws. Exits 1 when there is an error, 0 otherwise, 2 on a usage error.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import type { z } from 'zod';

import { type SchemaNode, admissionIssues, pruneNulls } from '../api/admission.js';
import { BREP_KIND, type BucketReplicationSpec } from '../api/bucket-replication.js';
import { API_VERSION, type CrossFieldRule, GROUP } from '../api/common.js';
import { CRDS, openAPISchema } from '../api/crd.js';
import { IDP_KIND, IDP_SPEC_RULES, IdentityProviderSpecSchema } from '../api/identity-provider.js';
import {
  SRG_KIND,
  SRG_SPEC_RULES,
  type SiteReplicationGroupSpec,
  SiteReplicationGroupSpecSchema,
} from '../api/site-replication-group.js';
import {
  type SourceFacts,
  type SpecIssue,
  checkBucketReplication,
  formatIssue,
  zodIssues,
} from '../replication/bucket-replication-spec.js';
import { type DestinationFlavor, validateReplicationConfig } from '../replication/validate.js';
import { ReplicationXMLError, parseReplicationXML } from '../replication/xml-codec.js';
import { copyMain, defaultCopyIO } from './copy-command.js';
import { decodeText, readBytes, readFailure } from './_read-input.js';
import { readYamlDocuments } from './_yaml-documents.js';

export const USAGE = `Usage: sitesync validate -f FILE [-f FILE...] [--flavor minio|s3|zenko]
       sitesync copy ... | sitesync partitions ...   (sitesync copy --help)

Checks sitesync resources without a cluster, as the apiserver and the operator would:
the schema of each kind (SiteReplicationGroup, BucketReplication, IdentityProvider), the
cross-field rules, unknown fields, unique list keys (site names), metadata, and the
replication rules S3, MinIO or Zenko apply to a BucketReplication's rules or
configurationXML. A file (at most 8 MiB of UTF-8 text) holds YAML documents, read as kubectl
reads them (other API groups are skipped; v1 Lists are opened), or one raw
ReplicationConfiguration XML document. Use -f - to read standard input.

The rules of a BucketReplication depend on the flavor of its source site: that of
spec.source.siteSpec, or of the site in the SiteReplicationGroup named by groupRef when that
group is in one of the files; otherwise, and for raw XML, --flavor (default minio).

Each error is printed as  FILE: Kind/name: path: message  (raw XML: FILE: ReplicationConfiguration: path: message;
YAML that does not parse: FILE: document[N]: line L, column C: message), or  FILE: message  for a file that
cannot be read (missing, a directory, binary, too large).
Exit status: 0 all valid, 1 errors found, 2 usage error.

Options:
  -f, --file FILE   a file to check (repeatable; - is standard input)
      --flavor F    flavor of sources not known from the files: minio (default), s3 or zenko
  -h, --help        show this help`;

export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  /** The bytes of a file (`-`: standard input); throws when it cannot be read. */
  readFile(path: string): Uint8Array;
}

/** A file that cannot be read, with the reason as a sentence. */
export class InputError extends Error {}

/** A file's bytes, at most MAX_INPUT_BYTES of them; an InputError saying why not. */
export function readFileBounded(path: string): Uint8Array {
  const bytes = readBytes(path);
  if (typeof bytes === 'string') throw new InputError(bytes);
  return bytes;
}

const defaultIO: CliIO = {
  out: (line) => {
    process.stdout.write(`${line}\n`);
  },
  err: (line) => {
    process.stderr.write(`${line}\n`);
  },
  readFile: readFileBounded,
};

const FLAVORS: readonly DestinationFlavor[] = ['minio', 's3', 'zenko'];
const KINDS = [SRG_KIND, BREP_KIND, IDP_KIND] as const;
/** A DNS-1123 subdomain, what metadata.name must be. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

interface Resource {
  file: string;
  kind: string;
  name: string;
  namespace: string | undefined;
  /** The document with null fields dropped, as the apiserver stores it. */
  doc: Record<string, unknown>;
}

interface Report {
  errors: number;
  skipped: number;
  print(file: string, what: string, issue: SpecIssue): void;
  /** An error about the whole file: `FILE: message`. */
  fileError(file: string, message: string): void;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const firstLine = (s: string) => s.split('\n')[0] ?? s;

// ---------------------------------------------------------------------------------------------
// Reading files

/** The sitesync resources of a YAML file; documents of other API groups are skipped. */
function readYaml(file: string, text: string, report: Report): Resource[] {
  const found: Resource[] = [];
  for (const d of readYamlDocuments(text)) {
    const where = `document[${d.index}]`;
    if (!d.ok) {
      for (const issue of d.issues) report.print(file, where, issue);
      continue;
    }
    found.push(...resourcesOf(file, where, d.value, report));
  }
  return found;
}

/** The resources of one document: itself, or the items of a `v1` List. */
function resourcesOf(file: string, where: string, doc: unknown, report: Report): Resource[] {
  if (doc === null || doc === undefined) return [];
  if (!isRecord(doc)) {
    report.print(file, where, { path: '(document)', message: 'a document must be a mapping' });
    return [];
  }
  if (doc['apiVersion'] === 'v1' && doc['kind'] === 'List' && Array.isArray(doc['items'])) {
    return doc['items'].flatMap((item, i) =>
      resourcesOf(file, `${where}.items[${i}]`, item, report),
    );
  }
  if (!isString(doc['apiVersion']) || !isString(doc['kind'])) {
    const missing = ['apiVersion', 'kind'].filter((k) => !isString(doc[k]));
    report.print(file, where, {
      path: missing.join(', '),
      message: `not a Kubernetes object: ${missing.join(' and ')} must be set`,
    });
    return [];
  }
  const r = resourceOf(file, doc, report);
  return r === undefined ? [] : [r];
}

const isString = (v: unknown): v is string => typeof v === 'string' && v !== '';

const isOurs = (doc: Record<string, unknown>) =>
  (typeof doc['apiVersion'] === 'string' && doc['apiVersion'].startsWith(`${GROUP}/`)) ||
  (KINDS as readonly unknown[]).includes(doc['kind']);

function headerIssues(doc: Record<string, unknown>, name: string): SpecIssue[] {
  const issues: SpecIssue[] = [];
  if (doc['apiVersion'] !== API_VERSION) {
    issues.push({ path: 'apiVersion', message: `apiVersion must be ${API_VERSION}` });
  }
  if (!(KINDS as readonly unknown[]).includes(doc['kind'])) {
    issues.push({ path: 'kind', message: `kind must be one of ${KINDS.join(', ')}` });
  }
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    issues.push({
      path: 'metadata.name',
      message: 'metadata.name is required: lower-case letters, digits, - and . (at most 253)',
    });
  }
  return issues;
}

/** A document of ours, with apiVersion, kind and metadata.name checked; else undefined. */
function resourceOf(file: string, raw: Record<string, unknown>, report: Report) {
  if (!isOurs(raw)) {
    report.skipped++;
    return undefined;
  }
  const doc = pruneNulls(raw) as Record<string, unknown>;
  const metadata = isRecord(doc['metadata']) ? doc['metadata'] : {};
  const name = typeof metadata['name'] === 'string' ? metadata['name'] : '';
  const namespace = typeof metadata['namespace'] === 'string' ? metadata['namespace'] : undefined;
  const kind = typeof doc['kind'] === 'string' ? doc['kind'] : '?';
  const issues = headerIssues(doc, name);
  for (const issue of issues) report.print(file, `${kind}/${name === '' ? '?' : name}`, issue);
  if (issues.length > 0) return undefined;
  const r: Resource = { file, kind, name, namespace, doc };
  return r;
}

function validateRawXml(file: string, text: string, flavor: DestinationFlavor, report: Report) {
  const what = 'ReplicationConfiguration';
  let config;
  try {
    config = parseReplicationXML(text);
  } catch (e: unknown) {
    const path = e instanceof ReplicationXMLError ? (e.element ?? '(document)') : '(document)';
    report.print(file, what, { path, message: e instanceof Error ? e.message : String(e) });
    return;
  }
  for (const i of validateReplicationConfig(config, { destinationFlavor: flavor, root: '' })) {
    report.print(file, what, { ...i, path: i.path.replace(/^\./, '') || '(document)' });
  }
}

/** Reads one file into `resources` (YAML) or checks it (raw XML); false when it was not read. */
function readFile(
  file: string,
  io: CliIO,
  ctx: { flavor: DestinationFlavor; report: Report; resources: Resource[] },
): boolean {
  let bytes: Uint8Array;
  try {
    bytes = io.readFile(file);
  } catch (e: unknown) {
    ctx.report.fileError(file, e instanceof InputError ? e.message : readFailure(e));
    return false;
  }
  const input = decodeText(bytes);
  if (!input.ok) {
    ctx.report.fileError(file, input.message);
    return false;
  }
  if (input.text.trimStart().startsWith('<')) {
    validateRawXml(file, input.text, ctx.flavor, ctx.report);
    return true;
  }
  ctx.resources.push(...readYaml(file, input.text, ctx.report));
  return false;
}

// ---------------------------------------------------------------------------------------------
// Checking resources

function checkSpec<S>(
  schema: z.ZodType<S>,
  rules: readonly CrossFieldRule<S>[],
  spec: unknown,
): SpecIssue[] {
  const parsed = schema.safeParse(spec);
  if (!parsed.success) return zodIssues(parsed.error, 'spec');
  return rules
    .filter((r) => !r.holds(parsed.data))
    .map((r) => ({ path: 'spec', message: r.message }));
}

/** Where a BucketReplication's source is, as far as the files tell. */
function sourceFacts(
  r: Resource,
  groups: readonly Resource[],
  flavor: DestinationFlavor,
): (spec: BucketReplicationSpec) => SourceFacts {
  return (spec) => {
    const { siteSpec, groupRef, site } = spec.source;
    if (siteSpec !== undefined) return { flavor: siteSpec.flavor, siteName: siteSpec.name };
    const group = groups.find((g) => g.name === groupRef?.name && g.namespace === r.namespace);
    const parsed = SiteReplicationGroupSpecSchema.safeParse(group?.doc['spec']);
    if (!parsed.success) return { flavor, siteName: site ?? '' };
    const sites = parsed.data.sites;
    const found = sites.find((s) => s.name === site);
    return {
      flavor: found?.flavor ?? flavor,
      siteName: site ?? '',
      groupSites: sites.map((s) => s.name),
    };
  };
}

function sourceSiteIssues(r: Resource, groups: readonly Resource[]): SpecIssue[] {
  const source = isRecord(r.doc['spec']) ? r.doc['spec']['source'] : undefined;
  if (!isRecord(source) || !isRecord(source['groupRef'])) return [];
  const groupName = source['groupRef']['name'];
  const group = groups.find((g) => g.name === groupName && g.namespace === r.namespace);
  const parsed = SiteReplicationGroupSpecSchema.safeParse(group?.doc['spec']);
  if (!parsed.success) return [];
  const sites = parsed.data.sites.map((s: SiteReplicationGroupSpec['sites'][number]) => s.name);
  if (sites.includes(source['site'] as string)) return [];
  return [
    {
      path: 'spec.source.site',
      message: `site ${String(source['site'])} is not a site of SiteReplicationGroup ${String(groupName)} (sites: ${sites.join(', ')})`,
    },
  ];
}

const schemas = new Map<string, { spec: SchemaNode; status: SchemaNode }>();

/** The spec and status schemas of the kind's generated CRD (computed once). */
function crdSchemas(kind: string) {
  let s = schemas.get(kind);
  if (s === undefined) {
    const def = CRDS.find((d) => d.kind === kind);
    if (def === undefined) throw new Error(`no CRD for kind ${kind}`);
    s = { spec: openAPISchema(def.spec), status: openAPISchema(def.status) };
    schemas.set(kind, s);
  }
  return s;
}

function specIssues(
  r: Resource,
  groups: readonly Resource[],
  flavor: DestinationFlavor,
): SpecIssue[] {
  const spec = r.doc['spec'];
  switch (r.kind) {
    case SRG_KIND:
      return checkSpec(SiteReplicationGroupSpecSchema, SRG_SPEC_RULES, spec);
    case IDP_KIND:
      return checkSpec(IdentityProviderSpecSchema, IDP_SPEC_RULES, spec);
    default: {
      const checked = checkBucketReplication(spec, sourceFacts(r, groups, flavor));
      return [...sourceSiteIssues(r, groups), ...(checked.ok ? [] : checked.issues)];
    }
  }
}

/** What admission would refuse (unknown fields, list keys, metadata), then the spec's rules. */
function checkResource(
  r: Resource,
  groups: readonly Resource[],
  flavor: DestinationFlavor,
): SpecIssue[] {
  return [...admissionIssues(r.doc, crdSchemas(r.kind)), ...specIssues(r, groups, flavor)];
}

// ---------------------------------------------------------------------------------------------
// Command line

type Args =
  | { kind: 'help' }
  | { kind: 'usage'; message: string }
  | { kind: 'validate'; files: string[]; flavor: DestinationFlavor };

export function parseCommandLine(argv: readonly string[]): Args {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        file: { type: 'string', short: 'f', multiple: true },
        flavor: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e: unknown) {
    return { kind: 'usage', message: e instanceof Error ? e.message : String(e) };
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { kind: 'help' };
  const [command, ...rest] = positionals;
  if (command !== 'validate') {
    return {
      kind: 'usage',
      message: command === undefined ? 'no command' : `unknown command ${command}`,
    };
  }
  const files = [...(values.file ?? []), ...rest];
  if (files.length === 0) return { kind: 'usage', message: 'validate needs at least one -f FILE' };
  const flavor = values.flavor ?? 'minio';
  if (!(FLAVORS as readonly string[]).includes(flavor)) {
    return { kind: 'usage', message: `--flavor must be one of ${FLAVORS.join(', ')}` };
  }
  return { kind: 'validate', files, flavor: flavor as DestinationFlavor };
}

function newReport(io: CliIO): Report {
  return {
    errors: 0,
    skipped: 0,
    print(file, what, issue) {
      this.errors++;
      io.out(`${file}: ${what}: ${formatIssue(issue)}`);
    },
    fileError(file, message) {
      this.errors++;
      io.out(`${file}: ${message}`);
    },
  };
}

/** Whatever went wrong unforeseen, as one line (a bug: the property tests look for it). */
export const UNEXPECTED = 'could not be checked';
const unexpected = (e: unknown) =>
  `${UNEXPECTED}: ${firstLine(e instanceof Error ? `${e.name}: ${e.message}` : String(e))}`;

function validate(files: readonly string[], flavor: DestinationFlavor, io: CliIO): number {
  const report = newReport(io);
  const ctx = { flavor, report, resources: [] as Resource[] };
  let xmlDocs = 0;
  for (const file of files) {
    try {
      if (readFile(file, io, ctx)) xmlDocs++;
    } catch (e: unknown) {
      report.fileError(file, unexpected(e));
    }
  }
  const groups = ctx.resources.filter((r) => r.kind === SRG_KIND);
  for (const r of ctx.resources) {
    let issues: SpecIssue[];
    try {
      issues = checkResource(r, groups, flavor);
    } catch (e: unknown) {
      issues = [{ path: '(document)', message: unexpected(e) }];
    }
    for (const issue of issues) report.print(r.file, `${r.kind}/${r.name}`, issue);
  }
  const checked = ctx.resources.length + xmlDocs;
  io.err(
    `sitesync validate: ${checked} document(s) checked in ${files.length} file(s), ${report.errors} error(s)` +
      (report.skipped > 0 ? `, ${report.skipped} document(s) of other kinds skipped` : ''),
  );
  if (checked === 0 && report.errors === 0) io.err('sitesync validate: no sitesync resource found');
  return report.errors > 0 ? 1 : 0;
}

/** The command line; returns the exit status. */
export function main(argv: readonly string[], io: CliIO = defaultIO): number {
  const args = parseCommandLine(argv);
  switch (args.kind) {
    case 'help':
      io.out(USAGE);
      return 0;
    case 'usage':
      io.err(`sitesync: ${args.message}`);
      io.err(USAGE);
      return 2;
    case 'validate':
      return validate(args.files, args.flavor, io);
  }
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

/** `copy` and `partitions` run the object copier (copy-command.ts); SIGTERM stops them cleanly. */
async function copyEntry(argv: readonly string[]): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => {
    stop.abort(new Error('Stopped by a signal'));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    process.exitCode = await copyMain(argv, defaultCopyIO(), stop.signal);
  } catch (e: unknown) {
    process.stderr.write(`sitesync: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = stop.signal.aborted ? 130 : 1;
  }
}

if (invokedDirectly()) {
  const argv = process.argv.slice(2);
  if (argv[0] === 'copy' || argv[0] === 'partitions') void copyEntry(argv);
  else process.exitCode = main(argv);
}
