import { describe, expect, it } from '@jest/globals';

import { parseConfig } from './config.js';

describe('parseConfig: the PrimarySecondary write lease', () => {
  it('defaults to a 5-minute lease and a 10-second clock-skew margin', () => {
    expect(parseConfig({})).toMatchObject({
      PRIMARY_LEASE_MS: 300_000,
      CLOCK_SKEW_MARGIN_MS: 10_000,
    });
    expect(parseConfig({ PRIMARY_LEASE_MS: '4000', CLOCK_SKEW_MARGIN_MS: '0' })).toMatchObject({
      PRIMARY_LEASE_MS: 4000,
      CLOCK_SKEW_MARGIN_MS: 0,
    });
  });

  it('refuses a lease under 2 s or over a day, and a margin over an hour, naming the setting', () => {
    expect(() => parseConfig({ PRIMARY_LEASE_MS: '1000' })).toThrow(/PRIMARY_LEASE_MS/);
    expect(() => parseConfig({ PRIMARY_LEASE_MS: '86400001' })).toThrow(/PRIMARY_LEASE_MS/);
    expect(() => parseConfig({ PRIMARY_LEASE_MS: 'soon' })).toThrow(/PRIMARY_LEASE_MS/);
    expect(() => parseConfig({ CLOCK_SKEW_MARGIN_MS: '3600001' })).toThrow(/CLOCK_SKEW_MARGIN_MS/);
    expect(() => parseConfig({ CLOCK_SKEW_MARGIN_MS: '-1' })).toThrow(/CLOCK_SKEW_MARGIN_MS/);
  });
});
