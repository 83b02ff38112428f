/**
 * MinIO admin calls the identity work needs beyond `MinioAdminClient`: restarting the server,
 * reading its uptime, and LDAP policy mappings (`idp/ldap/policy/*`). Routes and shapes are
 * those of minio/minio cmd/admin-router.go and madmin-go:
 *
 *   POST /minio/admin/v3/service?action=restart&dry-run=false&type=2   ServiceV2Handler, plain
 *   GET  /minio/admin/v3/info                                          servers[].uptime (s), plain
 *   POST /minio/admin/v3/idp/ldap/policy/{attach|detach}              encrypted both ways
 *   GET  /minio/admin/v3/idp/ldap/policy-entities?user=&group=&policy= encrypted response
 *
 * The LDAP calls need LDAP enabled on the site (else XMinioAdminLDAPNotEnabled). A restart
 * answers first, then re-executes the server in place (same pid) ~250 ms later.
 */
import { AdminTransport, type HttpCall, type TransportOptions } from './admin/admin-transport.js';
import {
  DecodeError,
  asObject,
  decodePolicyAssociation,
  decodePolicyEntities,
} from './admin/decode.js';
import { decryptPayload, encryptPayload } from './admin/payload-crypto.js';
import type {
  PolicyAssociation,
  PolicyAssociationResult,
  PolicyEntitiesQuery,
  PolicyEntitiesResult,
} from './admin/types.js';

const ADMIN = '/minio/admin/v3';
const ALREADY_APPLIED = 'XMinioAdminPolicyChangeAlreadyApplied';

export type ServiceAdminOptions = Omit<TransportOptions, 'timeoutMs'> & {
  readonly timeoutMs?: number | undefined;
};

export class MinioServiceAdmin {
  private readonly transport: AdminTransport;
  private readonly secretKey: string;

  constructor(opts: ServiceAdminOptions) {
    this.transport = new AdminTransport({ ...opts, timeoutMs: opts.timeoutMs ?? 15_000 });
    this.secretKey = opts.secretKey;
  }

  /** Restarts every server of the deployment (`mc admin service restart`). Plain. */
  async restartService(signal?: AbortSignal): Promise<void> {
    await this.transport.send({
      op: 'restartService',
      method: 'POST',
      path: `${ADMIN}/service`,
      query: { action: 'restart', 'dry-run': 'false', type: '2' },
      signal,
    });
  }

  /** Seconds since the most recently (re)started server of the deployment started. Plain. */
  async uptimeSeconds(signal?: AbortSignal): Promise<number> {
    const call: HttpCall = {
      op: 'serverInfo',
      method: 'GET',
      path: `${ADMIN}/info`,
      query: { metrics: 'false' },
      signal,
    };
    const answer = await this.transport.send(call);
    const uptimes = this.parse(call, answer.body, (v) => {
      const servers = asObject(v, 'info')['servers'];
      if (!Array.isArray(servers)) throw new DecodeError('info.servers is not a list');
      return servers.map((s) => {
        const u = asObject(s, 'info.servers[]')['uptime'];
        // 0 is left out of the JSON (omitempty).
        return typeof u === 'number' ? u : 0;
      });
    });
    return uptimes.length === 0 ? 0 : Math.min(...uptimes);
  }

  /** `POST /idp/ldap/policy/attach`: maps policies to an LDAP user or group DN. */
  attachLDAPPolicies(req: PolicyAssociation): Promise<PolicyAssociationResult> {
    return this.associate('attach', req);
  }

  /** `POST /idp/ldap/policy/detach`. */
  detachLDAPPolicies(req: PolicyAssociation): Promise<PolicyAssociationResult> {
    return this.associate('detach', req);
  }

  /** `GET /idp/ldap/policy-entities`: LDAP policy mappings by user DN, group DN or policy. */
  async listLDAPPolicyEntities(query: PolicyEntitiesQuery = {}): Promise<PolicyEntitiesResult> {
    const call: HttpCall = {
      op: 'listLDAPPolicyEntities',
      method: 'GET',
      path: `${ADMIN}/idp/ldap/policy-entities`,
      query: { user: query.users ?? [], group: query.groups ?? [], policy: query.policies ?? [] },
    };
    const answer = await this.transport.send(call);
    return this.parse(call, await this.decrypt(call, answer.body), decodePolicyEntities);
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  private async associate(
    action: 'attach' | 'detach',
    req: PolicyAssociation,
  ): Promise<PolicyAssociationResult> {
    const call: HttpCall = {
      op: `${action}LDAPPolicies`,
      method: 'POST',
      path: `${ADMIN}/idp/ldap/policy/${action}`,
      contentType: 'application/octet-stream',
      tolerate: [ALREADY_APPLIED],
    };
    const payload = JSON.stringify({
      policies: [...req.policies],
      ...(req.user === undefined ? {} : { user: req.user }),
      ...(req.group === undefined ? {} : { group: req.group }),
    });
    let body: Buffer;
    try {
      body = await encryptPayload(Buffer.from(payload, 'utf8'), this.secretKey);
    } catch (e: unknown) {
      throw this.transport.error(call, 'Internal', 'could not encrypt the request body', {
        cause: e,
      });
    }
    const answer = await this.transport.send({ ...call, body });
    if (answer.code === ALREADY_APPLIED) return { changed: [], alreadyApplied: true };
    if (answer.body.length === 0) return { changed: [], alreadyApplied: false };
    return this.parse(call, await this.decrypt(call, answer.body), decodePolicyAssociation);
  }

  private async decrypt(call: HttpCall, body: Buffer): Promise<Buffer> {
    try {
      return await decryptPayload(body, this.secretKey);
    } catch {
      throw this.malformed(call, `${body.length} bytes that do not decrypt`);
    }
  }

  private parse<T>(call: HttpCall, bytes: Buffer, decode: (v: unknown) => T): T {
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw this.malformed(call, `${bytes.length} bytes that are not JSON`);
    }
    try {
      return decode(value);
    } catch (e: unknown) {
      if (e instanceof DecodeError) throw this.malformed(call, e.message);
      throw e;
    }
  }

  private malformed(call: HttpCall, why: string) {
    return this.transport.error(
      call,
      'Invalid',
      `malformed response from ${call.method} ${call.path}: ${why}`,
    );
  }
}
