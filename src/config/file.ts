// CLM_CONFIG: an optional JSON file for what does not fit in environment variables: the table and
// column mapping, the time zone of days, the stage model, the RFM segment map, the survey event type and
// the event types that get features of their own.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { resolveMapping, warehouseMappingSchema, type WarehouseMapping } from "../sql/contract.ts";
import { eventTypesSchema, type EventType } from "../lifecycle/features.ts";
import { DEFAULT_RFM_SEGMENTS, rfmSegmentsSchema, type RfmSegmentMap } from "../lifecycle/rfm.ts";
import { checkStageModel, type StageModel, type StageModelIssue } from "../lifecycle/stage-model.ts";
import { resolveStageModel, stageModelConfigSchema } from "../lifecycle/stage-presets.ts";
import { ConfigError } from "./env.ts";

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const configFileSchema = z
  .object({
    $schema: z.string().optional(),
    warehouse: warehouseMappingSchema.optional(),
    /** IANA time zone in which days begin and end (asOf, purchase days). */
    timeZone: z.string().refine(isTimeZone, "must be an IANA time zone such as UTC or Europe/Berlin").default("UTC"),
    stageModel: stageModelConfigSchema.optional(),
    /** RFM segment map (segment → codes); every one of the 125 codes in exactly one segment. */
    rfmSegments: rfmSegmentsSchema.optional(),
    /** events.type of survey answers (value 0–10) for the nps and satisfaction metrics. */
    surveyEventType: z.string().min(1).default("nps"),
    /**
     * Event types with features of their own (events.<type>.count …), for pre-purchase stages; `interest`
     * names those whose first event makes a person a lead (lead_to_customer_rate).
     */
    events: z
      .object({ types: eventTypesSchema.default([]), interest: z.array(z.string()).optional() })
      .strict()
      .optional(),
  })
  .strict();

export interface FileConfig {
  readonly mapping: WarehouseMapping;
  readonly timeZone: string;
  readonly stageModel: StageModel;
  readonly rfmSegments: RfmSegmentMap;
  readonly surveyEventType: string;
  /** The event types named in events.types, each with the events.type values that count as it. */
  readonly eventTypes: readonly EventType[];
  /** The event types whose first event makes a lead: events.interest, else the sales-funnel preset's. */
  readonly interestEvents: readonly string[];
}

function formatPath(path: readonly PropertyKey[]): string {
  return (
    path
      .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
      .join("")
      .replace(/^\./, "") || "(root)"
  );
}

export function parseConfigFile(json: unknown, source = "CLM_CONFIG"): FileConfig {
  const parsed = configFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${source} at ${formatPath(i.path)}: ${i.message}`));
  }
  const eventTypes = parsed.data.events?.types ?? [];
  const stageModelIssues = (issues: readonly StageModelIssue[]) =>
    new ConfigError(issues.map((i) => `${source} at ${formatPath(["stageModel", ...i.path])}: ${i.message}`));
  const stageModel = resolveStageModel(parsed.data.stageModel, eventTypes);
  if ("issues" in stageModel) throw stageModelIssues(stageModel.issues);
  const configured = new Set(eventTypes.map((t) => t.key));
  const issues = checkStageModel(stageModel, { eventTypes: configured });
  if (issues.length > 0) throw stageModelIssues(issues);
  const { stageModel: choice, events } = parsed.data;
  const preset = choice && "preset" in choice && choice.preset === "sales-funnel" ? choice.interestEvents : [];
  const interestEvents = events?.interest ?? preset;
  const unknown = interestEvents.flatMap((type, i) =>
    configured.has(type)
      ? []
      : [`${source} at events.interest[${i}]: event type ${type} is not in CLM_CONFIG's events.types`],
  );
  if (unknown.length > 0) throw new ConfigError(unknown);
  return {
    mapping: resolveMapping(parsed.data.warehouse),
    timeZone: parsed.data.timeZone,
    stageModel,
    rfmSegments: parsed.data.rfmSegments ?? DEFAULT_RFM_SEGMENTS,
    surveyEventType: parsed.data.surveyEventType,
    eventTypes,
    interestEvents,
  };
}

export function loadConfigFile(path: string | undefined): FileConfig {
  if (path === undefined) return parseConfigFile({});
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError([`CLM_CONFIG cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"}: ${path})`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`CLM_CONFIG is not valid JSON (${path}: ${(error as Error).message})`]);
  }
  return parseConfigFile(json, `CLM_CONFIG (${path})`);
}
