/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** A new saved segment. */
export type CreateSegmentInput = {
  /** The definition (see Segment.definition). */
  definition: unknown;
  /** What the segment is for (at most 2,000 characters). */
  description?: string | null | undefined;
  /** Unique name (1–100 characters). */
  name: string;
};

/** The metrics the server computes; each value's description is its definition. */
export type MetricKey =
  /** Active customers. Customers who bought during the period. */
  | 'ACTIVE_CUSTOMERS'
  /** Average days in a stage. Mean length of the stays in a stage that began and ended during the period. Stages are evaluated on about 13 snapshot days spread evenly over the period, so lengths are exact to within the snapshot step; stays cut by the period's ends are left out. Broken down by stage: the stage stayed in. */
  | 'AVERAGE_DAYS_IN_STAGE'
  /** Average order value. Revenue during the period / orders during the period (distinct order_id per day; rows without one count as one order each). */
  | 'AVERAGE_ORDER_VALUE'
  /** Customer acquisition cost. Marketing spend during the period / new customers (first purchase during the period). Broken down by acquisition channel: the channel's spend / the new customers whose customers.acquisition_channel is that channel. Null for other breakdowns and for a segment's customers (spend is not attributed to segments). Needs the marketing_spend table. */
  | 'CAC'
  /** Churn rate. Of the buyers not in the churned stage on the day before the period, the share in the churned stage on its last day. Null when the stage model has no stage keyed churned. */
  | 'CHURN_RATE'
  /** Lead conversion rate. Leads: people first seen (customers.created_at, first event or first purchase) during the period. Value: the share of them with a first purchase on or before the period's last day. Needs the customers or events table (otherwise every known person is a buyer). */
  | 'CONVERSION_RATE'
  /** Historical lifetime value. Mean revenue per buyer from their first purchase to the period's last day, over every buyer known by then. */
  | 'HISTORICAL_LTV'
  /** Lead-to-customer rate. Leads: people whose first interest event (events of the types in CLM_CONFIG's events.interest, by default the sales-funnel preset's interestEvents) fell in the period, and who had not bought before that day. Value: the share of them with a first purchase on or after that day, by the period's last day. Broken down by channel, stage or segment like every metric. Null without interest event types or the events table. */
  | 'LEAD_TO_CUSTOMER_RATE'
  /** LTV : CAC. historical_ltv / cac over the same customers and period: how many times the acquisition cost a buyer has paid back so far. Needs the marketing_spend table. */
  | 'LTV_TO_CAC'
  /** Median days from lead to customer. Over the period's converted leads (see lead_to_customer_rate): the median of whole days from the first interest event to the first purchase (0 when they bought that day). */
  | 'MEDIAN_DAYS_LEAD_TO_CUSTOMER'
  /** Median days to first purchase. Over the period's converted leads (see conversion_rate): the median of whole days from first seen to first purchase (0 when they bought on the day they appeared). */
  | 'MEDIAN_DAYS_TO_CONVERT'
  /** New customers. Customers whose first purchase was during the period. */
  | 'NEW_CUSTOMERS'
  /** Net promoter score. Over survey events (type nps by default, value 0–10) during the period: 100 × (promoters (9–10) − detractors (0–6)) / responses, from −100 to 100. Broken down by stage: the respondent's stage on the period's last day. Needs the events table. */
  | 'NPS'
  /** Orders. Orders during the period. */
  | 'ORDERS'
  /** Customer share making 80% of revenue. Pareto concentration: the smallest share of the period's buyers, biggest spenders first, whose revenue reaches 80% of the period buyers' revenue (net of their refunds). */
  | 'PARETO_CUSTOMER_SHARE_FOR_80'
  /** Revenue share of the top 20%. Pareto concentration: the share of the period buyers' revenue (net of their refunds) made by the top 20% of them by revenue (the top ceil(0.2 × buyers) customers; ties cannot change the sum). */
  | 'PARETO_TOP20_REVENUE_SHARE'
  /** Purchase frequency. Orders during the period / customers who bought during the period. */
  | 'PURCHASE_FREQUENCY'
  /** Referral rate. Advocates / customers: of the buyers known by the period's last day, the share who referred at least one customer known by then (customers.referred_by). Needs the customers table. */
  | 'REFERRAL_RATE'
  /** Repeat-purchase rate. Of the customers who bought during the period, the share with two or more purchase days in all (by the period's last day). */
  | 'REPEAT_PURCHASE_RATE'
  /** Retention rate. Of the customers who bought during the equally long window just before the period, the share who bought again during the period. */
  | 'RETENTION_RATE'
  /** Revenue. Sum of transaction amounts during the period, net of refunds. */
  | 'REVENUE'
  /** Revenue per customer. Revenue during the period / customers who bought during the period. */
  | 'REVENUE_PER_CUSTOMER'
  /** Mean survey score. Mean value of the survey events (type nps by default) during the period. Needs the events table. */
  | 'SATISFACTION';

/** What a metric's value measures. */
export type MetricUnit =
  /** A count, or a count per customer. */
  | 'COUNT'
  /** Money, in the currency of the transaction amounts. */
  | 'CURRENCY'
  /** A duration in days. */
  | 'DAYS'
  /** How many times one amount covers another (LTV : CAC of 3 means 3×); not a share, may exceed 1. */
  | 'MULTIPLE'
  /** A share between 0 and 1 (multiply by 100 for a percentage). */
  | 'RATIO'
  /** A survey score (NPS from −100 to 100, or a mean answer). */
  | 'SCORE';

/** An inclusive range of days in the configured time zone. */
export type PeriodInput = {
  /** First day of the period, included (a calendar day in the configured time zone). */
  from: string;
  /** Last day (on or after from). */
  to: string;
};

/** Which saved segments to list. */
export type SegmentFilter = {
  /** Also list archived segments. */
  includeArchived?: boolean | null | undefined;
  /** Only names containing this text (any case; % and _ match themselves, not any text). */
  nameContains?: string | null | undefined;
  /** Only segments of this owner. */
  owner?: string | null | undefined;
};

/** Whether a stage is a step forward in the relationship or a lapse to win back from. */
export type StageKind =
  /** A lapse state for win-back: at risk, churned. */
  | 'LAPSE'
  /** A step forward: prospect, new, developing, retained, loyal, advocate. */
  | 'PROGRESS';

/** Where the customer data lives. */
export type WarehouseKind =
  /** A Google BigQuery dataset. */
  | 'BIGQUERY'
  /** Embedded DuckDB (in memory with demo data, or a file). */
  | 'DUCKDB'
  /** A PostgreSQL database. */
  | 'POSTGRES';

export type CustomerLifetimeValueQueryVariables = Exact<{
  asOf: string;
  id: string | number;
}>;


export type CustomerLifetimeValueQuery = { clvModel: { asOf: string, customers: number, bgnbd: { r: number, alpha: number, a: number, b: number, logLikelihood: number } | null, gammaGamma: { p: number, q: number, gamma: number, customers: number }, diagnostics: { purchaseModelConverged: boolean, gammaGammaConverged: boolean, fitMilliseconds: number, sampleFraction: number } } | null, customer: { id: string, stage: { key: string }, features: { purchaseDays: number, revenue: number }, prediction: { probabilityAlive: number, expectedPurchases: number, expectedAverageSpend: number, predictedClv: number } | null } | null };

export type CustomerStageQueryVariables = Exact<{
  id: string | number;
  asOf?: string | null | undefined;
}>;


export type CustomerStageQuery = { customer: { id: string, asOf: string, stage: { key: string, name: string, recommendedActions: Array<string> }, furthestStage: { key: string }, features: { purchaseDays: number, recencyDays: number | null, meanGapDays: number | null, revenue: number, referredCount: number | null } } | null };

export type DashboardQueryVariables = Exact<{
  asOf: string;
  period: PeriodInput;
  previous: PeriodInput;
  cohortsFrom: string;
}>;


export type DashboardQuery = { stages: Array<{ key: string, name: string, count: number, share: number }>, funnel: Array<{ reached: number, dropOffFromPrevious: number | null, stage: { key: string } }>, rfmGrid: { buyers: number, cells: Array<{ recency: number, frequency: number, customers: number, revenue: number }>, segments: Array<{ segment: string, customers: number, share: number }> }, cohorts: Array<{ month: string, customers: number, revenuePerCustomer: number | null, months: Array<{ offset: number, retention: number }> }>, metrics: Array<{ key: MetricKey, name: string, unit: MetricUnit, value: number | null, comparison: { value: number | null, change: number | null, relativeChange: number | null } | null }> };

export type PreviewSegmentQueryVariables = Exact<{
  definition: unknown;
  asOf?: string | null | undefined;
}>;


export type PreviewSegmentQuery = { previewSegment: { asOf: string, size: number, stageBreakdown: Array<{ count: number, share: number, stage: { key: string, name: string } }>, members: { edges: Array<{ node: { id: string, features: { purchaseDays: number, revenue: number, recencyDays: number | null } } }> } } };

export type CreateSegmentMutationVariables = Exact<{
  input: CreateSegmentInput;
}>;


export type CreateSegmentMutation = { createSegment: { id: string, name: string, version: number, definition: unknown, size: number } };

export type SavedSegmentsQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  filter?: SegmentFilter | null | undefined;
}>;


export type SavedSegmentsQuery = { segments: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { id: string, name: string, version: number, archived: boolean, updatedAt: string } }> } };

export type StageOverviewQueryVariables = Exact<{
  asOf: string;
  since: string;
}>;


export type StageOverviewQuery = { stages: Array<{ key: string, name: string, order: number, kind: StageKind, count: number, share: number }>, stageTransitions: Array<{ count: number, from: { key: string } | null, to: { key: string } }>, stageTimings: Array<{ entries: number, medianDaysFromFirstSeen: number | null, medianDaysFromFirstPurchase: number | null, stage: { key: string } }> };

export type WarehouseOverviewQueryVariables = Exact<{ [key: string]: never; }>;


export type WarehouseOverviewQuery = { warehouse: { kind: WarehouseKind, tables: Array<{ name: string, source: string, required: boolean, present: boolean, missingColumns: Array<string>, rowCount: number | null }> } };


export const CustomerLifetimeValueDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CustomerLifetimeValue"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Date"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"clvModel"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"asOf"},"value":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}}},{"kind":"Argument","name":{"kind":"Name","value":"model"},"value":{"kind":"EnumValue","value":"BG_NBD"}},{"kind":"Argument","name":{"kind":"Name","value":"timeUnit"},"value":{"kind":"EnumValue","value":"WEEK"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"asOf"}},{"kind":"Field","name":{"kind":"Name","value":"customers"}},{"kind":"Field","name":{"kind":"Name","value":"bgnbd"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"r"}},{"kind":"Field","name":{"kind":"Name","value":"alpha"}},{"kind":"Field","name":{"kind":"Name","value":"a"}},{"kind":"Field","name":{"kind":"Name","value":"b"}},{"kind":"Field","name":{"kind":"Name","value":"logLikelihood"}}]}},{"kind":"Field","name":{"kind":"Name","value":"gammaGamma"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"p"}},{"kind":"Field","name":{"kind":"Name","value":"q"}},{"kind":"Field","name":{"kind":"Name","value":"gamma"}},{"kind":"Field","name":{"kind":"Name","value":"customers"}}]}},{"kind":"Field","name":{"kind":"Name","value":"diagnostics"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"purchaseModelConverged"}},{"kind":"Field","name":{"kind":"Name","value":"gammaGammaConverged"}},{"kind":"Field","name":{"kind":"Name","value":"fitMilliseconds"}},{"kind":"Field","name":{"kind":"Name","value":"sampleFraction"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}},{"kind":"Argument","name":{"kind":"Name","value":"asOf"},"value":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"stage"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}}]}},{"kind":"Field","name":{"kind":"Name","value":"features"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"purchaseDays"}},{"kind":"Field","name":{"kind":"Name","value":"revenue"}}]}},{"kind":"Field","name":{"kind":"Name","value":"prediction"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"horizonDays"},"value":{"kind":"IntValue","value":"365"}},{"kind":"Argument","name":{"kind":"Name","value":"discountRate"},"value":{"kind":"FloatValue","value":"0.1"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"probabilityAlive"}},{"kind":"Field","name":{"kind":"Name","value":"expectedPurchases"}},{"kind":"Field","name":{"kind":"Name","value":"expectedAverageSpend"}},{"kind":"Field","name":{"kind":"Name","value":"predictedClv"}}]}}]}}]}}]} as unknown as DocumentNode<CustomerLifetimeValueQuery, CustomerLifetimeValueQueryVariables>;
export const CustomerStageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CustomerStage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Date"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"customer"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}},{"kind":"Argument","name":{"kind":"Name","value":"asOf"},"value":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"asOf"}},{"kind":"Field","name":{"kind":"Name","value":"stage"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"recommendedActions"}}]}},{"kind":"Field","name":{"kind":"Name","value":"furthestStage"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}}]}},{"kind":"Field","name":{"kind":"Name","value":"features"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"purchaseDays"}},{"kind":"Field","name":{"kind":"Name","value":"recencyDays"}},{"kind":"Field","name":{"kind":"Name","value":"meanGapDays"}},{"kind":"Field","name":{"kind":"Name","value":"revenue"}},{"kind":"Field","name":{"kind":"Name","value":"referredCount"}}]}}]}}]}}]} as unknown as DocumentNode<CustomerStageQuery, CustomerStageQueryVariables>;
export const DashboardDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Dashboard"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Date"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"period"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"PeriodInput"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"previous"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"PeriodInput"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"cohortsFrom"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Date"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"stages"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"asOf"},"value":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"count"}},{"kind":"Field","name":{"kind":"Name","value":"share"}}]}},{"kind":"Field","name":{"kind":"Name","value":"funnel"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"asOf"},"value":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"stage"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}}]}},{"kind":"Field","name":{"kind":"Name","value":"reached"}},{"kind":"Field","name":{"kind":"Name","value":"dropOffFromPrevious"}}]}},{"kind":"Field","name":{"kind":"Name","value":"rfmGrid"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"asOf"},"value":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"buyers"}},{"kind":"Field","name":{"kind":"Name","value":"cells"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"recency"}},{"kind":"Field","name":{"kind":"Name","value":"frequency"}},{"kind":"Field","name":{"kind":"Name","value":"customers"}},{"kind":"Field","name":{"kind":"Name","value":"revenue"}}]}},{"kind":"Field","name":{"kind":"Name","value":"segments"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"segment"}},{"kind":"Field","name":{"kind":"Name","value":"customers"}},{"kind":"Field","name":{"kind":"Name","value":"share"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"cohorts"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"from"},"value":{"kind":"Variable","name":{"kind":"Name","value":"cohortsFrom"}}},{"kind":"Argument","name":{"kind":"Name","value":"to"},"value":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}}},{"kind":"Argument","name":{"kind":"Name","value":"asOf"},"value":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}}},{"kind":"Argument","name":{"kind":"Name","value":"months"},"value":{"kind":"IntValue","value":"12"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"month"}},{"kind":"Field","name":{"kind":"Name","value":"customers"}},{"kind":"Field","name":{"kind":"Name","value":"revenuePerCustomer"}},{"kind":"Field","name":{"kind":"Name","value":"months"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"offset"}},{"kind":"Field","name":{"kind":"Name","value":"retention"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"metrics"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"keys"},"value":{"kind":"ListValue","values":[{"kind":"EnumValue","value":"ACTIVE_CUSTOMERS"},{"kind":"EnumValue","value":"NEW_CUSTOMERS"},{"kind":"EnumValue","value":"REVENUE"},{"kind":"EnumValue","value":"CONVERSION_RATE"},{"kind":"EnumValue","value":"REPEAT_PURCHASE_RATE"},{"kind":"EnumValue","value":"RETENTION_RATE"},{"kind":"EnumValue","value":"CHURN_RATE"},{"kind":"EnumValue","value":"AVERAGE_ORDER_VALUE"},{"kind":"EnumValue","value":"HISTORICAL_LTV"},{"kind":"EnumValue","value":"CAC"},{"kind":"EnumValue","value":"LTV_TO_CAC"},{"kind":"EnumValue","value":"PARETO_TOP20_REVENUE_SHARE"},{"kind":"EnumValue","value":"NPS"}]}},{"kind":"Argument","name":{"kind":"Name","value":"period"},"value":{"kind":"Variable","name":{"kind":"Name","value":"period"}}},{"kind":"Argument","name":{"kind":"Name","value":"compareTo"},"value":{"kind":"Variable","name":{"kind":"Name","value":"previous"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"unit"}},{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"comparison"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"change"}},{"kind":"Field","name":{"kind":"Name","value":"relativeChange"}}]}}]}}]}}]} as unknown as DocumentNode<DashboardQuery, DashboardQueryVariables>;
export const PreviewSegmentDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"PreviewSegment"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"definition"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"JSON"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Date"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"previewSegment"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"definition"},"value":{"kind":"Variable","name":{"kind":"Name","value":"definition"}}},{"kind":"Argument","name":{"kind":"Name","value":"asOf"},"value":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"asOf"}},{"kind":"Field","name":{"kind":"Name","value":"size"}},{"kind":"Field","name":{"kind":"Name","value":"stageBreakdown"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"stage"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"count"}},{"kind":"Field","name":{"kind":"Name","value":"share"}}]}},{"kind":"Field","name":{"kind":"Name","value":"members"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"10"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"features"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"purchaseDays"}},{"kind":"Field","name":{"kind":"Name","value":"revenue"}},{"kind":"Field","name":{"kind":"Name","value":"recencyDays"}}]}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<PreviewSegmentQuery, PreviewSegmentQueryVariables>;
export const CreateSegmentDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateSegment"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateSegmentInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createSegment"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"definition"}},{"kind":"Field","name":{"kind":"Name","value":"size"}}]}}]}}]} as unknown as DocumentNode<CreateSegmentMutation, CreateSegmentMutationVariables>;
export const SavedSegmentsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"SavedSegments"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"SegmentFilter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"segments"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"archived"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]}}]}}]}}]} as unknown as DocumentNode<SavedSegmentsQuery, SavedSegmentsQueryVariables>;
export const StageOverviewDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"StageOverview"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Date"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"since"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Date"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"stages"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"asOf"},"value":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"order"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"count"}},{"kind":"Field","name":{"kind":"Name","value":"share"}}]}},{"kind":"Field","name":{"kind":"Name","value":"stageTransitions"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"from"},"value":{"kind":"Variable","name":{"kind":"Name","value":"since"}}},{"kind":"Argument","name":{"kind":"Name","value":"to"},"value":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"from"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}}]}},{"kind":"Field","name":{"kind":"Name","value":"to"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}}]}},{"kind":"Field","name":{"kind":"Name","value":"count"}}]}},{"kind":"Field","name":{"kind":"Name","value":"stageTimings"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"from"},"value":{"kind":"Variable","name":{"kind":"Name","value":"since"}}},{"kind":"Argument","name":{"kind":"Name","value":"to"},"value":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}}},{"kind":"Argument","name":{"kind":"Name","value":"stepDays"},"value":{"kind":"IntValue","value":"7"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"stage"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}}]}},{"kind":"Field","name":{"kind":"Name","value":"entries"}},{"kind":"Field","name":{"kind":"Name","value":"medianDaysFromFirstSeen"}},{"kind":"Field","name":{"kind":"Name","value":"medianDaysFromFirstPurchase"}}]}}]}}]} as unknown as DocumentNode<StageOverviewQuery, StageOverviewQueryVariables>;
export const WarehouseOverviewDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"WarehouseOverview"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"warehouse"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"tables"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"required"}},{"kind":"Field","name":{"kind":"Name","value":"present"}},{"kind":"Field","name":{"kind":"Name","value":"missingColumns"}},{"kind":"Field","name":{"kind":"Name","value":"rowCount"}}]}}]}}]}}]} as unknown as DocumentNode<WarehouseOverviewQuery, WarehouseOverviewQueryVariables>;