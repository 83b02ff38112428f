/**
 * One MinIO site as the IdentityProvider controller sees it: read the identity configuration
 * (two encrypted get-config-kv calls, ~75 ms of argon2 CPU each on either side), write it
 * (set-config-kv, del-config-kv), read the uptime and restart the server.
 */
import type { SiteConnection } from '../site-client.js';
import { MinioAdminClient } from './admin/admin-client.js';
import type { SubsysConfig } from './admin/config-kv.js';
import { IDENTITY_SUBSYSTEMS, liveIdentityDigest } from './identity-config.js';
import { MinioServiceAdmin } from './minio-service-admin.js';

export class MinioIdentitySite {
  readonly name: string;
  private readonly admin: MinioAdminClient;
  private readonly service: MinioServiceAdmin;

  constructor(conn: SiteConnection) {
    this.name = conn.name;
    const opts = {
      site: conn.name,
      endpoint: conn.endpoint,
      accessKey: conn.accessKey,
      secretKey: conn.secretKey,
      timeoutMs: conn.timeoutMs,
      ca: conn.ca,
      insecureSkipVerify: conn.insecureSkipVerify,
      onCall: conn.onCall ? (op: string) => conn.onCall?.(`admin:${op}`) : undefined,
    };
    this.admin = new MinioAdminClient(opts);
    this.service = new MinioServiceAdmin(opts);
  }

  /** Both identity subsystems, every target, as the running server reports them. */
  async read(): Promise<SubsysConfig[]> {
    const answers = await Promise.all(IDENTITY_SUBSYSTEMS.map((s) => this.admin.getConfigKV(s)));
    return answers.flatMap((a) => [...a.subsystems]);
  }

  /** The digest of the identity configuration (see identity-config.ts); two encrypted calls. */
  async readDigest(): Promise<string> {
    return liveIdentityDigest(await this.read());
  }

  /**
   * Sets `text` (one set-config-kv line, with its secret) and then removes `stale` configs
   * (del-config-kv keys). True when the site needs a restart for it to take effect.
   */
  async apply(text: string, stale: readonly string[]): Promise<{ restartRequired: boolean }> {
    let restartRequired = (await this.admin.setConfigKV(text)).restartRequired;
    for (const key of stale) {
      if ((await this.admin.deleteConfigKV(key)).restartRequired) restartRequired = true;
    }
    return { restartRequired };
  }

  uptimeSeconds(): Promise<number> {
    return this.service.uptimeSeconds();
  }

  restart(): Promise<void> {
    return this.service.restartService();
  }

  close(): void {
    void this.admin.close();
    void this.service.close();
  }
}
