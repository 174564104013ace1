// The stage models CLM_CONFIG can choose: a preset by name (ecommerce, the default; sales-funnel, with
// the pre-purchase stages), the default with its thresholds changed, or a whole model of one's own.
import { z } from "zod";
import type { EventType } from "./features.ts";
import {
  DEFAULT_EVALUATION_EVENTS,
  DEFAULT_INTEREST_EVENTS,
  salesFunnelStageModel,
  salesFunnelThresholdsSchema,
} from "./sales-funnel.ts";
import {
  customModelSchema,
  defaultStageModel,
  thresholdsSchema,
  type StageModel,
  type StageModelIssue,
} from "./stage-model.ts";

const thresholdsConfigSchema = z.object({ thresholds: thresholdsSchema.partial() }).strict();

const eventTypeNames = z.array(z.string()).min(1);

/** A preset by name, its thresholds overridable; sales-funnel also names its interest and evaluation events. */
const presetConfigSchema = z.discriminatedUnion("preset", [
  z.object({ preset: z.literal("ecommerce"), thresholds: thresholdsSchema.partial().default({}) }).strict(),
  z
    .object({
      preset: z.literal("sales-funnel"),
      thresholds: salesFunnelThresholdsSchema.partial().default({}),
      interestEvents: eventTypeNames.default([...DEFAULT_INTEREST_EVENTS]),
      evaluationEvents: z.array(z.string()).default([...DEFAULT_EVALUATION_EVENTS]),
    })
    .strict(),
]);

type StageModelChoice = z.output<typeof thresholdsConfigSchema> | z.output<typeof presetConfigSchema> | StageModel;

/**
 * CLM_CONFIG's `stageModel`: `{ preset, thresholds }` for a preset (ecommerce, the default, or
 * sales-funnel), `{ thresholds }` for the default model, or a whole model of one's own (`{ stages,
 * evaluationOrder, fallback }`). The branch is picked by its keys, so errors point inside it.
 */
export const stageModelConfigSchema = z.unknown().transform((input, ctx): StageModelChoice => {
  const has = (key: string) => typeof input === "object" && input !== null && key in input;
  const schema = has("preset") ? presetConfigSchema : has("thresholds") ? thresholdsConfigSchema : customModelSchema;
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data as StageModelChoice;
  for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, code: "custom", path: issue.path } as never);
  return z.NEVER;
});

export type StageModelConfig =
  | z.input<typeof customModelSchema>
  | z.input<typeof thresholdsConfigSchema>
  | z.input<typeof presetConfigSchema>;

/**
 * The model CLM_CONFIG chose, built for the configured event types; a sales-funnel preset naming event
 * types that are not configured gets an issue at each such name.
 */
export function resolveStageModel(
  config: z.output<typeof stageModelConfigSchema> | undefined,
  eventTypes: readonly EventType[],
): StageModel | { issues: StageModelIssue[] } {
  if (!config) return defaultStageModel();
  if ("preset" in config) {
    if (config.preset === "ecommerce") return defaultStageModel(config.thresholds);
    const configured = new Set(eventTypes.map((t) => t.key));
    const issues = (["interestEvents", "evaluationEvents"] as const).flatMap((list) =>
      config[list].flatMap((type, i) =>
        configured.has(type)
          ? []
          : [{ path: [list, i], message: `event type ${type} is not in CLM_CONFIG's events.types` }],
      ),
    );
    if (issues.length > 0) return { issues };
    return salesFunnelStageModel({ ...config, eventTypes });
  }
  if ("thresholds" in config) return defaultStageModel(config.thresholds);
  return config;
}
