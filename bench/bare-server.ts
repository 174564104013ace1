// The baseline of the HTTP lookup benchmark: a bare graphql-yoga server answering `{ hello }`, on the
// same Node, the same yoga and the same loopback as the real server, with nothing of its own (no auth,
// no limits, no logging, no warehouse). Started as a child process by bench/lookups.ts.
import { createServer } from "node:http";
import { createSchema, createYoga } from "graphql-yoga";

const yoga = createYoga({
  schema: createSchema({ typeDefs: "type Query { hello: String! }", resolvers: { Query: { hello: () => "world" } } }),
  graphqlEndpoint: "/graphql",
  graphiql: false,
  landingPage: false,
  logging: false,
});

const server = createServer(yoga);
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  process.stdout.write(`bare: serving http://${process.env.HOST ?? "127.0.0.1"}:${port}/graphql\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
