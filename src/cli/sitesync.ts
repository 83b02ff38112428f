#!/usr/bin/env node
/**
 * `sitesync validate -f FILE [-f FILE...]`: checks sitesync resources offline, before they are
 * applied (CI, GitOps pipelines). Each file is YAML with one or more documents of any kind
 * (documents of other API groups are skipped), or a raw ReplicationConfiguration XML document.
 * Checks: the zod schema of the kind, the cross-field rules the apiserver runs as CEL, and, for
 * a BucketReplication (or raw XML), the replication rules of the source site's flavor. Prints
 * `FILE: Kind/name: path: message` per error; exits 1 when there is one, 0 otherwise, 2 on a
 * usage error.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';

import { BREP_KIND, type BucketReplicationSpec } from '../api/bucket-replication.js';
import { API_VERSION, type CrossFieldRule, GROUP } from '../api/common.js';
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

export const USAGE = `Usage: sitesync validate -f FILE [-f FILE...] [--flavor minio|s3|zenko]
       sitesync copy ... | sitesync partitions ...   (sitesync copy --help)

Checks sitesync resources without a cluster, as the apiserver and the operator would:
the schema of each kind (SiteReplicationGroup, BucketReplication, IdentityProvider), the
cross-field rules, and the replication rules S3, MinIO or Zenko apply to a BucketReplication's
rules or configurationXML. A file holds YAML documents (other API groups are skipped) or one
raw ReplicationConfiguration XML document. Use -f - to read standard input.

The rules of a BucketReplication depend on the flavor of its source site: that of
spec.source.siteSpec, or of the site in the SiteReplicationGroup named by groupRef when that
group is in one of the files; otherwise, and for raw XML, --flavor (default minio).

Each error is printed as  FILE: Kind/name: path: message  (raw XML: FILE: ReplicationConfiguration: path: message).
Exit status: 0 all valid, 1 errors found, 2 usage error.

Options:
  -f, --file FILE   a file to check (repeatable; - is standard input)
      --flavor F    flavor of sources not known from the files: minio (default), s3 or zenko
  -h, --help        show this help`;

export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  readFile(path: string): string;
}

const defaultIO: CliIO = {
  out: (line) => {
    process.stdout.write(`${line}\n`);
  },
  err: (line) => {
    process.stderr.write(`${line}\n`);
  },
  readFile: (path) => readFileSync(path === '-' ? 0 : path, 'utf8'),
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
  doc: Record<string, unknown>;
}

interface Report {
  errors: number;
  print(file: string, what: string, issue: SpecIssue): void;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------
// Reading files

/** The sitesync resources of a YAML file; other documents are skipped. */
function readYaml(file: string, text: string, report: Report): Resource[] {
  const found: Resource[] = [];
  parseAllDocuments(text).forEach((d, i) => {
    const where = `document[${i}]`;
    if (d.errors.length > 0) {
      for (const e of d.errors) {
        const pos = e.linePos?.[0];
        const path = pos === undefined ? '(yaml)' : `line ${pos.line}, column ${pos.col}`;
        report.print(file, where, { path, message: e.message.split('\n')[0] ?? e.message });
      }
      return;
    }
    const doc: unknown = d.toJS();
    if (doc === null || doc === undefined) return;
    if (!isRecord(doc)) {
      report.print(file, where, { path: '(document)', message: 'a document must be a mapping' });
      return;
    }
    const r = resourceOf(file, doc, report);
    if (r !== undefined) found.push(r);
  });
  return found;
}

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
function resourceOf(file: string, doc: Record<string, unknown>, report: Report) {
  if (!isOurs(doc)) return undefined;
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
    if (!(e instanceof ReplicationXMLError)) throw e;
    report.print(file, what, { path: e.element ?? '(document)', message: e.message });
    return;
  }
  for (const i of validateReplicationConfig(config, { destinationFlavor: flavor, root: '' })) {
    report.print(file, what, { ...i, path: i.path.replace(/^\./, '') || '(document)' });
  }
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

function checkResource(
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

function validate(files: readonly string[], flavor: DestinationFlavor, io: CliIO): number {
  const report: Report = {
    errors: 0,
    print(file, what, issue) {
      this.errors++;
      io.out(`${file}: ${what}: ${formatIssue(issue)}`);
    },
  };
  const resources: Resource[] = [];
  let xmlDocs = 0;
  for (const file of files) {
    let text: string;
    try {
      text = io.readFile(file);
    } catch (e: unknown) {
      report.print(file, '-', {
        path: '(file)',
        message: `cannot read: ${e instanceof Error ? e.message : String(e)}`,
      });
      continue;
    }
    if (
      text
        .replace(/^\uFEFF/, '')
        .trimStart()
        .startsWith('<')
    ) {
      xmlDocs++;
      validateRawXml(file, text, flavor, report);
    } else {
      resources.push(...readYaml(file, text, report));
    }
  }
  const groups = resources.filter((r) => r.kind === SRG_KIND);
  for (const r of resources) {
    for (const issue of checkResource(r, groups, flavor))
      report.print(r.file, `${r.kind}/${r.name}`, issue);
  }
  const checked = resources.length + xmlDocs;
  io.err(
    `sitesync validate: ${checked} document(s) checked in ${files.length} file(s), ${report.errors} error(s)`,
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
