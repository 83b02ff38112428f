/** What failed in a pass, per site: entity actions by key, and everything else in order. */
export class Failures {
  private readonly bySite = new Map<string, { entities: Map<string, string>; all: string[] }>();

  private of(site: string) {
    let f = this.bySite.get(site);
    if (!f) {
      f = { entities: new Map(), all: [] };
      this.bySite.set(site, f);
    }
    return f;
  }

  /** The action on entity `key` (its encoded form) failed on `site`. */
  entity(site: string, key: string, message: string): void {
    const f = this.of(site);
    f.entities.set(key, message);
    f.all.push(message);
  }

  /** Something else failed on `site` (its replication account, a peer link). */
  other(site: string, message: string): void {
    this.of(site).all.push(message);
  }

  hasEntity(site: string, key: string): boolean {
    return this.bySite.get(site)?.entities.has(key) ?? false;
  }

  entityMessage(site: string, key: string): string | undefined {
    return this.bySite.get(site)?.entities.get(key);
  }

  /** The first failure on `site`, if any. */
  first(site: string): string | undefined {
    return this.bySite.get(site)?.all[0];
  }

  /** Adds everything `other` recorded. */
  merge(other: Failures): void {
    for (const [site, f] of other.bySite) {
      const mine = this.of(site);
      for (const [k, m] of f.entities) mine.entities.set(k, m);
      mine.all.push(...f.all);
    }
  }

  get size(): number {
    let n = 0;
    for (const f of this.bySite.values()) n += f.all.length;
    return n;
  }
}
