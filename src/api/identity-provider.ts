import { z } from 'zod';

import {
  type CrossFieldRule,
  ConditionsSchema,
  type KubeObject,
  celValidations,
  secretKeyRefSchema,
} from './common.js';

export const IDP_KIND = 'IdentityProvider';

export const OpenIDSchema = z.object({
  configURL: z
    .string()
    .min(1)
    .max(2048)
    .regex(/^https?:\/\/\S+$/)
    .describe('URL of the OpenID discovery document (.well-known/openid-configuration).'),
  clientID: z.string().min(1).max(1024).describe('Client ID registered at the provider.'),
  clientSecret: secretKeyRefSchema('clientSecret')
    .optional()
    .describe('Secret holding the client secret (key default clientSecret).'),
  claimName: z
    .string()
    .min(1)
    .max(256)
    .default('policy')
    .describe('JWT claim that names the policies of the user (default policy).'),
  claimPrefix: z.string().max(256).optional().describe('Prefix added to the claim values.'),
  rolePolicy: z
    .string()
    .max(2048)
    .optional()
    .describe('Policies given to every user of this provider (a role policy), comma separated.'),
  scopes: z.array(z.string().min(1).max(256)).max(64).optional().describe('Scopes to request.'),
  redirectURI: z.string().max(2048).optional().describe('Redirect URI for the console login.'),
  displayName: z.string().max(256).optional().describe('Name shown on the login button.'),
});
export type OpenID = z.infer<typeof OpenIDSchema>;

export const LDAPSchema = z.object({
  serverAddr: z
    .string()
    .min(1)
    .max(512)
    .regex(/^[^\s:/]+:[0-9]{1,5}$/)
    .describe('host:port of the LDAP server.'),
  lookupBindDN: z.string().min(1).max(1024).describe('DN the sites bind as to look users up.'),
  lookupBindPassword: secretKeyRefSchema('password').describe(
    'Secret holding the lookup bind password (key default password).',
  ),
  userDNSearchBaseDN: z.string().min(1).max(1024).describe('Base DN of the user search.'),
  userDNSearchFilter: z
    .string()
    .min(1)
    .max(1024)
    .describe('Filter that finds a user, with %s for the username, e.g. (uid=%s).'),
  groupSearchBaseDN: z.string().max(1024).optional().describe('Base DN of the group search.'),
  groupSearchFilter: z
    .string()
    .max(1024)
    .optional()
    .describe('Filter that finds the groups of a user, with %d for the user DN.'),
  tls: z
    .object({
      insecure: z
        .boolean()
        .default(false)
        .describe('Plain LDAP without TLS (server_insecure). For tests only.'),
      startTLS: z.boolean().default(false).describe('Upgrade the connection with StartTLS.'),
      skipVerify: z.boolean().default(false).describe('Skip verifying the server certificate.'),
    })
    .prefault({})
    .describe('How the sites connect to the LDAP server.'),
});
export type LDAP = z.infer<typeof LDAPSchema>;

interface IdpRuleSpec {
  openid?: unknown;
  ldap?: unknown;
}

export const IDP_SPEC_RULES: readonly CrossFieldRule<IdpRuleSpec>[] = [
  {
    rule: 'has(self.openid) != has(self.ldap)',
    message: 'exactly one of spec.openid and spec.ldap must be set',
    holds: (s) => (s.openid === undefined) !== (s.ldap === undefined),
  },
];

export const IdentityProviderSpecSchema = z
  .object({
    openid: OpenIDSchema.optional().describe('An OpenID Connect provider.'),
    ldap: LDAPSchema.optional().describe('An LDAP or Active Directory server.'),
    allowSiteRestart: z
      .boolean()
      .default(false)
      .describe(
        'Let the operator restart a site whose identity configuration only takes effect after a restart. Off: the need is reported as a condition.',
      ),
  })
  .meta({ 'x-kubernetes-validations': celValidations(IDP_SPEC_RULES) });
export type IdentityProviderSpec = z.infer<typeof IdentityProviderSpecSchema>;

export const IdpSiteStatusSchema = z.object({
  group: z.string().describe('The SiteReplicationGroup the site belongs to.'),
  site: z.string(),
  configured: z.boolean().describe('The live configuration matches the declared one.'),
  digest: z.string().optional().describe('Digest of the live configuration, without secrets.'),
  restartRequired: z
    .boolean()
    .optional()
    .describe('The configuration was written but takes effect only after the site restarts.'),
  lastError: z.string().optional(),
  secretVersion: z
    .string()
    .optional()
    .describe('Secret name and resourceVersion whose value was last written to the site.'),
  appliedTime: z
    .string()
    .optional()
    .describe('When the operator last wrote the configuration to the site (RFC 3339).'),
});
export type IdpSiteStatus = z.infer<typeof IdpSiteStatusSchema>;

export const IdentityProviderStatusSchema = z.object({
  observedGeneration: z.number().int().min(0).optional(),
  conditions: ConditionsSchema.optional(),
  digest: z.string().optional().describe('Digest of the declared configuration, without secrets.'),
  sites: z.array(IdpSiteStatusSchema).optional(),
  sitesConfigured: z.string().optional().describe('Sites configured out of all, e.g. 3/3.'),
});
export type IdentityProviderStatus = z.infer<typeof IdentityProviderStatusSchema>;

export type IdentityProvider = KubeObject<IdentityProviderSpec, IdentityProviderStatus>;
