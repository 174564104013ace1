// What every resolver receives: the services of this server and the identity of the request.
import type { PrismaClient } from "@prisma/client";
import type { Logger } from "pino";
import type { WarehouseConnector } from "../connectors/connector.ts";

export interface Services {
  readonly prisma: PrismaClient;
  readonly warehouse: WarehouseConnector;
  readonly log: Logger;
}

export interface RequestContext extends Services {
  readonly requestId: string;
}
