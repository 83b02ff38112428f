import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { DurationSchema, parseDuration } from './common.js';

describe('parseDuration', () => {
  it('reads what DurationSchema accepts', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1.5s')).toBe(1500);
  });

  it('adds its parts, in any unit', () => {
    const part = fc.tuple(fc.integer({ min: 0, max: 999 }), fc.constantFrom('ms', 's', 'm', 'h'));
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), (parts) => {
        const text = parts.map(([n, u]) => `${n}${u}`).join('');
        fc.pre(DurationSchema.safeParse(text).success);
        expect(parseDuration(text)).toBe(parts.reduce((t, [n, u]) => t + n * unit[u], 0));
      }),
    );
  });
});
