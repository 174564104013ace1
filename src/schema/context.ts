// What every resolver receives: the services of this server and the identity of the request.
import type { PrismaClient } from "@prisma/client";
import type { Logger } from "pino";
import type { WarehouseConnector } from "../connectors/connector.ts";
import type { RequestAuth } from "../auth/request-auth.ts";
import type { AppServices } from "../services/app-services.ts";
import type { LifecycleRequest } from "../services/lifecycle/request.ts";
import type { LifecycleService } from "../services/lifecycle/service.ts";

/** What the server is built from: the application's services (services/app-services.ts) and the app database. */
export interface Services extends AppServices {
  readonly prisma: PrismaClient;
}

export interface RequestContext {
  readonly prisma: PrismaClient;
  readonly warehouse: WarehouseConnector;
  readonly log: Logger;
  /** The application's services, built once for the server (resolvers take theirs from here). */
  readonly services: AppServices;
  readonly requestId: string;
  /** Who is asking (see auth/request-auth.ts). */
  readonly auth: RequestAuth;
  /** Aborts when the client goes away (and only then): what ends a subscription. */
  readonly clientSignal: AbortSignal;
  /** The lifecycle service with this request's loaders (batched lookups, memoised distributions). */
  readonly lifecycle: LifecycleRequest<LifecycleService>;
}
