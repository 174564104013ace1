// Saved segments in the app database: every change is a transaction that bumps the version and writes
// an immutable SegmentVersion, and an update names the version it edited, so no change is lost or
// silently overwritten. Also the one place a saved segment becomes its rule for a day, for GraphQL,
// the export route and the CLI alike.
import { Prisma, type PrismaClient, type Segment } from "@prisma/client";
import { z } from "zod";
import { isUuid } from "../appdb/ids.ts";
import { ConflictError, InvalidInputError, InvalidSegmentError, NotFoundError } from "../errors.ts";
import { MAX_BREAKDOWN_SEGMENTS } from "../lifecycle/metrics.ts";
import type { Rule, RuleScope } from "../lifecycle/rules.ts";
import {
  checkDefinition,
  DefinitionError,
  referencedSegments,
  resolveDefinition,
} from "../lifecycle/segment-definition.ts";

const name = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(100, "at most 100 characters")
  .refine((v) => !/[\u0000-\u001f]/.test(v), "must not contain control characters");
const description = z.string().max(2_000, "at most 2,000 characters");

const createSchema = z.object({ name, description: description.default(""), definition: z.unknown() });
const updateSchema = z.object({
  id: z.string(),
  version: z.number().int().min(1),
  name: name.optional(),
  description: description.optional(),
  definition: z.unknown().optional(),
});

export type CreateSegment = z.input<typeof createSchema>;
export type UpdateSegment = z.input<typeof updateSchema>;

function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new InvalidInputError("invalid segment", {
      argument: "input",
      issues: parsed.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message })),
    });
  }
  return parsed.data;
}

/** More saved segments than a breakdown by segment splits by (MAX_BREAKDOWN_SEGMENTS). */
export class TooManySegmentsError extends InvalidInputError {
  override name = "TooManySegmentsError";
  constructor(argument?: string) {
    super(`more than ${MAX_BREAKDOWN_SEGMENTS} saved segments: archive some to break down by segment`, { argument });
  }
}

/**
 * The app database's client, or how to open it when first needed: the CLI opens it only for commands that
 * read saved segments.
 */
export type SegmentDatabase = PrismaClient | (() => Promise<PrismaClient>);

/** An advisory lock key of this app: "CLMS" as a 32-bit number. */
const REFERENCE_LOCK = 0x434c4d53;

/** The client or a transaction of it. */
type Db = Pick<PrismaClient, "segment" | "$queryRaw">;

/** A unique-constraint violation, as the engine or a driver adapter reports it (PostgreSQL's 23505). */
function isUniqueViolation(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") return true;
  const cause = (error as { cause?: { kind?: string; code?: string } } | null)?.cause;
  return cause?.kind === "UniqueConstraintViolation" || cause?.code === "23505";
}

export class SegmentStore {
  private readonly database: () => Promise<PrismaClient>;

  constructor(
    prisma: SegmentDatabase,
    /** What definitions may read (the stage model's stages, the RFM map). */
    private readonly scope: RuleScope,
  ) {
    this.database = typeof prisma === "function" ? prisma : async () => prisma;
  }

  async get(id: string): Promise<Segment | null> {
    return isUuid(id) ? (await this.database()).segment.findUnique({ where: { id } }) : null;
  }

  /** The saved segment `id` (NotFoundError about `argument` when there is none). */
  async find(id: string, argument?: string): Promise<Segment> {
    const segment = await this.get(id);
    if (!segment) throw new NotFoundError(`no segment with id ${JSON.stringify(id)}`, { argument });
    return segment;
  }

  /**
   * A saved segment's definition, checked against this server's stage model and RFM map (InvalidSegmentError
   * about `argument` when it no longer fits them).
   */
  definitionOf(segment: { name: string; definition: unknown }, argument?: string): Rule {
    const issues = checkDefinition(segment.definition, this.scope);
    if (issues.length > 0) {
      throw new InvalidSegmentError(`segment ${segment.name} has an invalid definition`, { argument, issues });
    }
    return segment.definition as Rule;
  }

  /**
   * The saved segment `id` as a rule for one day: found (NotFoundError), its definition checked
   * (InvalidSegmentError) and resolved for the day (InvalidInputError: a reference that cannot be
   * inlined); each error about `argument`, the input that named the segment.
   */
  async ruleOn(id: string, day: string, argument = "segmentId"): Promise<{ segment: Segment; rule: Rule }> {
    const segment = await this.find(id, argument);
    return { segment, rule: await this.resolve(this.definitionOf(segment, argument), day, argument) };
  }

  /**
   * Starts or stops writing the segment's entries and exits as lifecycle events at each state refresh
   * (the first refresh after it starts is the baseline). Idempotent; NotFoundError about `argument`.
   */
  async setTracked(id: string, tracked: boolean, argument = "id"): Promise<Segment> {
    const segment = await this.find(id, argument);
    const db = await this.database();
    if (tracked) await db.segmentTracking.upsert({ where: { segmentId: id }, create: { segmentId: id }, update: {} });
    else await db.segmentTracking.deleteMany({ where: { segmentId: id } });
    return segment;
  }

  async isTracked(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    return (await (await this.database()).segmentTracking.count({ where: { segmentId: id } })) > 0;
  }

  /** The tracked segments that are not archived, with their rules for `day`; one that no longer resolves is skipped with `skip`. */
  async trackedRules(
    day: string,
    skip: (segmentId: string, error: unknown) => void,
  ): Promise<{ id: string; rule: Rule }[]> {
    const rows = await (
      await this.database()
    ).segmentTracking.findMany({ where: { segment: { archived: false } }, select: { segmentId: true } });
    const out: { id: string; rule: Rule }[] = [];
    for (const { segmentId } of rows) {
      try {
        out.push({ id: segmentId, rule: (await this.ruleOn(segmentId, day)).rule });
      } catch (error) {
        skip(segmentId, error);
      }
    }
    return out;
  }

  /** Saved segments that are not archived, by name (at most `take`). */
  async live(take?: number): Promise<Segment[]> {
    return (await this.database()).segment.findMany({
      where: { archived: false },
      orderBy: [{ name: "asc" }, { id: "asc" }],
      take,
    });
  }

  /**
   * The saved segments a breakdown by segment splits by: every one not archived, by name, with its checked
   * definition (TooManySegmentsError beyond MAX_BREAKDOWN_SEGMENTS, InvalidSegmentError).
   */
  async forBreakdown(argument = "breakdown"): Promise<{ id: string; name: string; definition: Rule }[]> {
    const segments = await this.live(MAX_BREAKDOWN_SEGMENTS + 1);
    if (segments.length > MAX_BREAKDOWN_SEGMENTS) throw new TooManySegmentsError(argument);
    return segments.map((s) => ({ id: s.id, name: s.name, definition: this.definitionOf(s, argument) }));
  }

  /** Saved definitions by id (archived ones too: references to them keep working). */
  async definitions(client?: Db): Promise<Map<string, Rule>> {
    const db = client ?? (await this.database());
    const rows = await db.segment.findMany({ select: { id: true, definition: true } });
    return new Map(rows.map((r) => [r.id, r.definition as Rule]));
  }

  /**
   * A definition checked for use: shape, fields, types, size, references to saved segments that exist
   * and no cycle through `selfId` (the segment being updated). Problems carry the path to their node, and
   * the error names `argument`, the input the definition came in (a new or changed segment's by default).
   */
  async check(definition: unknown, selfId?: string, argument = "input"): Promise<Rule> {
    const issues = checkDefinition(definition, this.scope).map((i) => ({ ...i, path: ["definition", ...i.path] }));
    if (issues.length > 0) throw new InvalidInputError("invalid segment definition", { argument, issues });
    const rule = definition as Rule;
    await this.checkReferences(rule, selfId, undefined, argument);
    return rule;
  }

  /** References that exist, no cycle through `selfId`, and a resolved size within bounds. */
  private async checkReferences(
    rule: Rule,
    selfId: string | undefined,
    client?: Db,
    argument = "input",
  ): Promise<void> {
    if (referencedSegments(rule).size > 0) {
      const saved = await this.definitions(client);
      if (selfId) saved.set(selfId, rule);
      try {
        resolveDefinition(rule, "2000-01-01", (id) => saved.get(id), selfId ? [selfId] : []);
      } catch (error) {
        if (error instanceof DefinitionError) {
          throw new InvalidInputError(error.message, {
            argument,
            issues: error.issues.map((i) => ({ ...i, path: ["definition", ...i.path] })),
          });
        }
        throw error;
      }
    }
  }

  /**
   * Serialises writes of definitions with references and checks them again inside the transaction:
   * two concurrent edits (A → B, B → A) could each pass the check made before, and together save a cycle.
   */
  private async lockReferences(tx: Db, rule: Rule | undefined, selfId?: string): Promise<void> {
    if (!rule || referencedSegments(rule).size === 0) return;
    // The function returns void, which Prisma cannot read back: a constant is selected after it.
    await tx.$queryRaw`SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(${REFERENCE_LOCK})) AS l`;
    await this.checkReferences(rule, selfId, tx);
  }

  /**
   * A definition resolved for a day: references inlined, relative dates made dates. One that cannot be
   * (a reference gone, a cycle, too large inlined) is an InvalidInputError about `argument`.
   */
  async resolve(definition: Rule, asOf: string, argument = "definition"): Promise<Rule> {
    return (await this.resolveEach(definition, [asOf], argument))[0]!;
  }

  /** `resolve` for each of `days`, the saved segments it references read once for them all. */
  async resolveEach(definition: Rule, days: readonly string[], argument = "definition"): Promise<Rule[]> {
    const saved = referencedSegments(definition).size > 0 ? await this.definitions() : new Map<string, Rule>();
    try {
      return days.map((day) => resolveDefinition(definition, day, (id) => saved.get(id)));
    } catch (error) {
      throw error instanceof DefinitionError ? error.about(argument) : error;
    }
  }

  async create(input: CreateSegment, owner: string | null = null): Promise<Segment> {
    const data = parse(createSchema, input);
    const definition = await this.check(data.definition);
    const prisma = await this.database();
    try {
      return await prisma.$transaction(async (tx) => {
        await this.lockReferences(tx, definition);
        const segment = await tx.segment.create({
          data: { name: data.name, description: data.description, definition, owner },
        });
        await tx.segmentVersion.create({ data: versionOf(segment, owner) });
        return segment;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`a segment named ${JSON.stringify(data.name)} exists`);
      throw error;
    }
  }

  /** Applies a change made to `version`; a newer version in the store means someone else won: CONFLICT. */
  async update(input: UpdateSegment, changedBy: string | null = null): Promise<Segment> {
    const data = parse(updateSchema, input);
    const definition = data.definition === undefined ? undefined : await this.check(data.definition, data.id);
    return this.change(data.id, data.version, changedBy, {
      name: data.name,
      description: data.description,
      definition,
    });
  }

  async setArchived(id: string, archived: boolean, changedBy: string | null = null): Promise<Segment> {
    const current = await this.get(id);
    if (!current) throw new NotFoundError(`no segment with id ${JSON.stringify(id)}`);
    if (current.archived === archived) return current;
    return this.change(id, current.version, changedBy, { archived });
  }

  private async change(
    id: string,
    version: number,
    changedBy: string | null,
    data: { name?: string; description?: string; definition?: Rule; archived?: boolean },
  ): Promise<Segment> {
    if (!isUuid(id)) throw new NotFoundError(`no segment with id ${JSON.stringify(id)}`);
    const prisma = await this.database();
    try {
      return await prisma.$transaction(async (tx) => {
        await this.lockReferences(tx, data.definition, id);
        // The version in the WHERE clause is the lock: of two writers of one version, one matches.
        const { count } = await tx.segment.updateMany({
          where: { id, version },
          data: { ...data, definition: data.definition as Prisma.InputJsonValue | undefined, version: version + 1 },
        });
        if (count === 0) {
          const current = await tx.segment.findUnique({ where: { id }, select: { version: true } });
          if (!current) throw new NotFoundError(`no segment with id ${JSON.stringify(id)}`);
          throw new ConflictError(
            `segment ${id} is at version ${current.version}, not ${version}: reload it and apply your change again`,
          );
        }
        const segment = await tx.segment.findUniqueOrThrow({ where: { id } });
        await tx.segmentVersion.create({ data: versionOf(segment, changedBy) });
        return segment;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`a segment named ${JSON.stringify(data.name)} exists`);
      throw error;
    }
  }
}

function versionOf(segment: Segment, changedBy: string | null) {
  return {
    segmentId: segment.id,
    version: segment.version,
    name: segment.name,
    description: segment.description,
    definition: segment.definition as Prisma.InputJsonValue,
    archived: segment.archived,
    changedBy,
  };
}
