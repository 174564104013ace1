// What every resolver receives: the services of this server and the identity of the request.
import type { PrismaClient } from "@prisma/client";
import type { Logger } from "pino";
import type { WarehouseConnector } from "./connectors/connector.ts";
import type { RequestAuth } from "./auth/request-auth.ts";
import type { LifecycleRequest } from "./services/lifecycle/request.ts";
import type { LifecycleService } from "./services/lifecycle/service.ts";

export interface Services {
  readonly prisma: PrismaClient;
  readonly warehouse: WarehouseConnector;
  readonly lifecycle: LifecycleService;
  readonly log: Logger;
}

export interface RequestContext extends Omit<Services, "lifecycle"> {
  readonly requestId: string;
  /** Who is asking (see auth/request-auth.ts). */
  readonly auth: RequestAuth;
  /** The lifecycle service with this request's loaders (batched lookups, memoised distributions). */
  readonly lifecycle: LifecycleRequest<LifecycleService>;
}
