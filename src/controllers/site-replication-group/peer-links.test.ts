import { describe, expect, it } from '@jest/globals';

import { parseReplicationXML } from '../../replication/xml-codec.js';
import { currentConfig } from './peer-links.js';

const xml = (id: string) =>
  `<ReplicationConfiguration><Role></Role><Rule><ID>${id}</ID><Status>Enabled</Status><Priority>1</Priority><DeleteMarkerReplication><Status>Enabled</Status></DeleteMarkerReplication><Filter><Prefix></Prefix></Filter><Destination><Bucket>arn:minio:replication::${id}:photos</Bucket></Destination></Rule></ReplicationConfiguration>`;

describe('currentConfig', () => {
  it('parses a document once per distinct text, and hands out a frozen result', () => {
    const first = currentConfig(xml('r1'));
    expect(first.config).toEqual(parseReplicationXML(xml('r1'), { unknownElements: 'ignore' }));
    // The same text again: the same parsed object, not a second parse.
    expect(currentConfig(xml('r1'))).toBe(first);
    expect(currentConfig(xml('r2'))).not.toBe(first);
    expect(currentConfig(xml('r2')).comparable).not.toBe(first.comparable);
    expect(Object.isFrozen(first.config.rules)).toBe(true);
    expect(() => {
      (first.config.rules as unknown[]).push({});
    }).toThrow(TypeError);
  });

  it('reads no document, or a blank one, as no rules', () => {
    expect(currentConfig(undefined).config.rules).toEqual([]);
    expect(currentConfig('  ').comparable).toBe(currentConfig(undefined).comparable);
  });
});
