import { describe, expect, it } from '@jest/globals';

import {
  RECOVER_ANNOTATION,
  RESYNC_ANNOTATION,
  SRG_RESOURCE,
  VERIFY_ANNOTATION,
} from '../api/names.js';
import { ANNOTATIONS, SRG_API } from './plugin-api.js';
import { parsePluginArgs } from './plugin-args.js';

describe('parsePluginArgs', () => {
  it('parses status with a namespace, in any order', () => {
    for (const argv of [
      ['status', 'europe', '-n', 'storage'],
      ['-n', 'storage', 'status', 'europe'],
      ['status', '--namespace=storage', 'europe'],
    ]) {
      const p = parsePluginArgs(argv);
      expect(p).toMatchObject({
        ok: true,
        args: { command: 'status', group: 'europe', namespace: 'storage', output: 'table' },
      });
    }
  });

  it('parses resync and recover with --wait and --timeout', () => {
    expect(parsePluginArgs(['resync', 'g', '--wait', '--timeout', '60'])).toMatchObject({
      ok: true,
      args: { command: 'resync', group: 'g', wait: true, timeoutSeconds: 60 },
    });
    expect(parsePluginArgs(['recover', 'g'])).toMatchObject({
      ok: true,
      args: { command: 'recover', wait: false, timeoutSeconds: 300 },
    });
  });

  it('parses verify, and the kinds status may be limited to', () => {
    expect(parsePluginArgs(['verify', 'g', '--wait'])).toMatchObject({
      ok: true,
      args: { command: 'verify', wait: true },
    });
    expect(parsePluginArgs(['status', 'g', '--buckets', '--users', '--objects'])).toMatchObject({
      ok: true,
      args: { only: ['buckets', 'users', 'objects'] },
    });
    expect(parsePluginArgs(['status', 'g'])).toMatchObject({ ok: true, args: { only: undefined } });
  });

  it('accepts -o json, yaml, table and wide', () => {
    expect(parsePluginArgs(['status', 'g', '-o', 'json'])).toMatchObject({
      args: { output: 'json' },
    });
    expect(parsePluginArgs(['status', 'g', '-o', 'yaml'])).toMatchObject({
      args: { output: 'yaml' },
    });
    expect(parsePluginArgs(['status', 'g', '-o', 'wide'])).toMatchObject({
      args: { output: 'table', wide: true },
    });
  });

  it('asks for help without arguments or with -h', () => {
    expect(parsePluginArgs([])).toEqual({ ok: false, help: true });
    expect(parsePluginArgs(['status', '-h'])).toEqual({ ok: false, help: true });
  });

  it.each([
    [['promote', 'g'], 'unknown command "promote"'],
    [['status'], 'status needs the name of a SiteReplicationGroup'],
    [['status', 'a', 'b'], 'unexpected arguments: b'],
    [['status', 'g', '-o', 'xml'], '--output must be table, json or yaml'],
    [['resync', 'g', '--timeout', 'soon'], '--timeout must be a positive number of seconds'],
  ])('rejects %j: %s', (argv, error) => {
    expect(parsePluginArgs(argv)).toEqual({ ok: false, help: false, error });
  });

  it('rejects an unknown flag', () => {
    const p = parsePluginArgs(['status', 'g', '--colour']);
    expect(p.ok).toBe(false);
    expect(p.ok ? '' : p.error).toContain('--colour');
  });
});

describe('the plugin and the controller agree', () => {
  it('on the annotations the controller acts on and the resource it serves', () => {
    expect(ANNOTATIONS).toEqual({
      resync: RESYNC_ANNOTATION,
      recover: RECOVER_ANNOTATION,
      verify: VERIFY_ANNOTATION,
    });
    expect(SRG_API).toEqual(SRG_RESOURCE);
  });
});
