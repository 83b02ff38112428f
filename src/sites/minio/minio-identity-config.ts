/**
 * A MinIO site's identity configuration (`SiteClient.identity`): read it (two encrypted
 * get-config-kv calls, ~75 ms of argon2 CPU each on either side), write it (set-config-kv,
 * del-config-kv), read the uptime and restart the server.
 */
import type {
  IdentityConfigOps,
  IdentityRejection,
  IdentitySpec,
  LiveIdentity,
} from '../identity.js';
import type { MinioAdminClient } from './admin/admin-client.js';
import {
  IDENTITY_SUBSYSTEMS,
  conflictingEnv,
  declaredIdentity,
  describeRejection,
  liveIdentity,
  liveIdentityDigest,
  setConfigText,
  staleConfigKeys,
} from './identity-config.js';
import type { MinioServiceAdmin } from './minio-service-admin.js';

export class MinioIdentityConfig implements IdentityConfigOps {
  constructor(
    private readonly admin: MinioAdminClient,
    private readonly service: MinioServiceAdmin,
  ) {}

  /** Both identity subsystems, every target, as the running server reports them. */
  async read(spec: IdentitySpec, signal: AbortSignal): Promise<LiveIdentity> {
    const admin = this.admin.withSignal(signal);
    const answers = await Promise.all(IDENTITY_SUBSYSTEMS.map((s) => admin.getConfigKV(s)));
    const live = answers.flatMap((a) => [...a.subsystems]);
    const declared = declaredIdentity(spec);
    return {
      digest: liveIdentityDigest(live),
      envConflicts: conflictingEnv(declared, live),
      stale: staleConfigKeys(declared, liveIdentity(live)),
    };
  }

  /**
   * Sets the declared subsystem (one set-config-kv line, with its secret), then removes `stale`
   * configs (del-config-kv keys). True when the site needs a restart for it to take effect.
   */
  async write(
    spec: IdentitySpec,
    secret: string,
    stale: readonly string[],
    signal: AbortSignal,
  ): Promise<{ restartRequired: boolean }> {
    const admin = this.admin.withSignal(signal);
    const text = setConfigText(declaredIdentity(spec), secret);
    let restartRequired = (await admin.setConfigKV(text)).restartRequired;
    for (const key of stale) {
      if ((await admin.deleteConfigKV(key)).restartRequired) restartRequired = true;
    }
    return { restartRequired };
  }

  describeRejection(spec: IdentitySpec, message: string): IdentityRejection {
    return describeRejection(declaredIdentity(spec), message);
  }

  uptimeSeconds(signal: AbortSignal): Promise<number> {
    return this.service.uptimeSeconds(signal);
  }

  restart(signal: AbortSignal): Promise<void> {
    return this.service.restartService(signal);
  }
}
