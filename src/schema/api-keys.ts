// API keys for admins: list, create (the secret shown once) and revoke, as `clm keys` does on the command
// line. Only the key's metadata is exposed; the hash of the secret never leaves the app database.
import type { ApiKeyInfo } from "../auth/api-key.ts";
import { hasExpired, KeyStore, LABEL_MAX } from "../auth/keys.ts";
import type { RequestContext } from "./context.ts";
import { ADMIN_ONLY, builder } from "./builder.ts";

const ADMIN_NOTE = "Admins only (others get FORBIDDEN, requests without a valid key UNAUTHENTICATED).";

/** The key store over this request's app database (the one `clm keys` and request auth use). */
const keyStore = (ctx: RequestContext) => new KeyStore(ctx.prisma);

const ApiKeyRoleRef = builder.enumType("ApiKeyRole", {
  description: "What an API key may do. Each role includes the one before: VIEWER ⊂ ANALYST ⊂ ADMIN.",
  values: {
    VIEWER: { value: "viewer", description: "Reads every query (dashboards, BI tools)." },
    ANALYST: { value: "analyst", description: "Reads, and creates and changes saved segments." },
    ADMIN: { value: "admin", description: "Everything an analyst may, and manages API keys." },
  } as const,
});

const ApiKeyRef = builder.objectRef<ApiKeyInfo>("ApiKey").implement({
  description:
    "An API key, sent as `Authorization: Bearer <secret>`. Only its metadata is shown: the secret is shown once, when the key is created, and the server keeps only a hash of it.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "Stable identifier (UUID); revoke the key by it." }),
    label: t.exposeString("label", {
      description: "What the key is for, e.g. “BI dashboard”; saved segments name it as their owner. May be empty.",
    }),
    role: t.field({ type: ApiKeyRoleRef, description: "What the key may do.", resolve: (key) => key.role }),
    prefix: t.exposeString("prefix", {
      description:
        "The first characters of the secret (`clm_` and six more), to recognise a key; not enough to use it.",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the key was created." }),
    revokedAt: t.expose("revokedAt", {
      type: "DateTime",
      nullable: true,
      description: "When the key was revoked; null while it is live.",
    }),
    revoked: t.boolean({
      description: "Whether the key is revoked: requests sending it are refused (UNAUTHENTICATED).",
      resolve: (key) => key.revokedAt !== null,
    }),
    expiresAt: t.field({
      type: "DateTime",
      nullable: true,
      description:
        "When the key stops working: from then on requests sending it are refused (UNAUTHENTICATED, “the API key has expired”). Null: it never expires.",
      resolve: (key) => key.expiresAt ?? null,
    }),
    expired: t.boolean({
      description: "Whether the key has expired (its expiresAt has passed).",
      resolve: (key) => hasExpired(key),
    }),
  }),
});

const CreateApiKeyPayloadRef = builder.objectRef<{ key: ApiKeyInfo; secret: string }>("CreateApiKeyPayload").implement({
  description: "A new API key and its secret.",
  fields: (t) => ({
    key: t.field({
      type: ApiKeyRef,
      description: "The new key as lists show it (id, role, prefix, label; never the secret).",
      resolve: (p) => p.key,
    }),
    secret: t.exposeString("secret", {
      description:
        "The secret to send as `Authorization: Bearer <secret>`. Shown only this once: the server keeps only its hash, so store it now; a lost secret cannot be recovered (revoke the key and create a new one).",
    }),
  }),
});

builder.queryField("apiKeys", (t) =>
  t.field({
    ...ADMIN_ONLY,
    type: [ApiKeyRef],
    description: `API keys, oldest first. ${ADMIN_NOTE}`,
    args: {
      includeRevoked: t.arg.boolean({
        defaultValue: false,
        description: "Also list revoked keys (default: only live ones).",
      }),
    },
    resolve: (_root, args, ctx) => keyStore(ctx).list({ includeRevoked: args.includeRevoked ?? false }),
  }),
);

builder.mutationFields((t) => ({
  createApiKey: t.field({
    ...ADMIN_ONLY,
    type: CreateApiKeyPayloadRef,
    description: `Creates an API key and returns its secret, which is shown only this once (only its hash is kept). The key works at once. BAD_USER_INPUT, with the argument and an issue per problem, for an invalid label. ${ADMIN_NOTE}`,
    args: {
      role: t.arg({ type: ApiKeyRoleRef, required: true, description: "What the key may do." }),
      label: t.arg.string({
        defaultValue: "",
        description: `What the key is for, shown in lists and as the owner of segments it saves: at most ${LABEL_MAX} characters, no control characters; surrounding spaces are dropped.`,
      }),
      expiresAt: t.arg({
        type: "DateTime",
        required: false,
        description:
          "When the key stops working (must be in the future); requests sending it after that are refused with UNAUTHENTICATED. Omitted or null: the key never expires.",
      }),
    },
    resolve: (_root, args, ctx) => keyStore(ctx).create(args.role, args.label ?? "", args.expiresAt ?? null),
  }),
  revokeApiKey: t.field({
    ...ADMIN_ONLY,
    type: ApiKeyRef,
    description: `Revokes an API key: from the next request on, requests sending it are refused (UNAUTHENTICATED). Idempotent: revoking a revoked key returns it unchanged, with the time of its first revocation. An admin may revoke the key they are using (this request still completes). NOT_FOUND for an unknown or malformed id. ${ADMIN_NOTE}`,
    args: { id: t.arg.id({ required: true, description: "The key's id (ApiKey.id)." }) },
    resolve: (_root, { id }, ctx) => keyStore(ctx).revokeById(String(id)),
  }),
}));
