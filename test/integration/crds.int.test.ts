/**
 * The CRDs on the real apiserver: they are established, every sample is accepted, and invalid
 * resources are rejected at admission with a message that names the offending field. And the
 * offline validator (`sitesync validate`, built) gives the apiserver's verdict on each of them.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';

import {
  type CommandResult,
  applyCrds,
  createNamespace,
  kubectl,
  mustKubectl,
} from '../support/kube.js';
import { INVALID, OPERATOR_ONLY, VALID, YAML_CASES, srg } from '../support/resource-cases.js';
import { REPO_ROOT } from '../support/stack.js';

let ns: string;

beforeAll(async () => {
  await applyCrds();
  ns = await createNamespace('crds');
});

describe('CRDs on the real apiserver', () => {
  it('accepts every sample', async () => {
    const out = await mustKubectl(['apply', '-n', ns, '-f', 'manifests/samples/']);
    expect(out).toMatch(/sitereplicationgroup.sitesync.io\/europe created/);
    expect(out).toMatch(/identityprovider.sitesync.io\/corporate-ldap created/);
    expect(out).toMatch(/bucketreplication.sitesync.io\/\S+ created/);
    const get = await mustKubectl(['get', 'srg,brep,idp', '-n', ns]);
    expect(get).toMatch(/MODE/);
  });

  it('applies defaults at admission', async () => {
    const name = 'defaults';
    const obj = srg({}, { name });
    await mustKubectl(['apply', '-n', ns, '-f', '-'], stringify(obj));
    const spec = JSON.parse(
      await mustKubectl(['get', 'srg', name, '-n', ns, '-o', 'jsonpath={.spec}']),
    ) as {
      mode: string;
      syncInterval: string;
      replicate: { iam: { users: boolean } };
      sites: { flavor: string; region: string }[];
    };
    expect(spec.mode).toBe('ActiveActive');
    expect(spec.syncInterval).toBe('30s');
    expect(spec.replicate.iam.users).toBe(true);
    expect(spec.sites[0]?.flavor).toBe('minio');
    expect(spec.sites[0]?.region).toBe('us-east-1');
  });

  it.each(INVALID)('rejects %s, naming the field', async (_what, resource, field) => {
    const r = await kubectl(['create', '-n', ns, '-f', '-'], stringify(resource));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/is invalid|unknown field|cannot unmarshal/);
    expect(r.stderr).toContain(field);
  });
});

// ---------------------------------------------------------------------------------------------
// sitesync validate against the apiserver

const CLI = join(REPO_ROOT, 'dist', 'cli', 'sitesync.js');
const SAMPLES = join(REPO_ROOT, 'manifests', 'samples');
const dir = mkdtempSync(join(tmpdir(), 'sitesync-verdicts-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function sitesyncValidate(path: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'validate', '-f', path], (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const verdict = (r: CommandResult) => (r.code === 0 ? 'accepts' : 'refuses');

/** Both verdicts on one file; they must agree, and be `expected`. */
async function expectVerdicts(path: string, expected: 'accepts' | 'refuses') {
  const [cli, api] = await Promise.all([
    sitesyncValidate(path),
    kubectl(['apply', '--dry-run=server', '-n', ns, '-f', path]),
  ]);
  expect([0, 1]).toContain(cli.code);
  expect(cli.stderr).not.toMatch(/^\s+at /m); // never a stack trace
  const got = { sitesync: verdict(cli), apiserver: verdict(api) };
  if (got.sitesync !== expected || got.apiserver !== expected) {
    // The outputs say why, when the two disagree.
    expect({ ...got, cli: cli.stdout, kubectl: api.stderr }).toEqual({
      sitesync: expected,
      apiserver: expected,
      cli: cli.stdout,
      kubectl: api.stderr,
    });
  }
}

let n = 0;
const file = (text: string) => {
  const path = join(dir, `case-${n++}.yaml`);
  writeFileSync(path, text);
  return path;
};

describe('sitesync validate gives the apiserver verdict (kubectl apply --dry-run=server)', () => {
  const samples = readdirSync(SAMPLES).filter((f) => f.endsWith('.yaml'));

  it.each(samples)('both accept the sample %s', async (sample) => {
    await expectVerdicts(join(SAMPLES, sample), 'accepts');
  });

  it.each(VALID)('both accept %s, the base of the invalid cases', async (_what, resource) => {
    await expectVerdicts(file(stringify(resource)), 'accepts');
  });

  it.each(INVALID)('both refuse %s', async (_what, resource) => {
    await expectVerdicts(file(stringify(resource)), 'refuses');
  });

  it.each(YAML_CASES)('YAML read alike: %s', async (_what, text, accepted) => {
    await expectVerdicts(file(text), accepted ? 'accepts' : 'refuses');
  });

  it.each(OPERATOR_ONLY)(
    'only sitesync refuses what only the operator checks: %s',
    async (_what, resource) => {
      const path = file(stringify(resource));
      const [cli, api] = await Promise.all([
        sitesyncValidate(path),
        kubectl(['apply', '--dry-run=server', '-n', ns, '-f', path]),
      ]);
      expect({ sitesync: verdict(cli), apiserver: verdict(api) }).toEqual({
        sitesync: 'refuses',
        apiserver: 'accepts',
      });
    },
  );
});
