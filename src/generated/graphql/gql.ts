/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "query CustomerStage($id: ID!, $asOf: Date) {\n  customer(id: $id, asOf: $asOf) {\n    id\n    asOf\n    stage {\n      key\n      name\n      recommendedActions\n    }\n    furthestStage {\n      key\n    }\n    features {\n      purchaseDays\n      recencyDays\n      meanGapDays\n      revenue\n      referredCount\n    }\n  }\n}": typeof types.CustomerStageDocument,
    "query Dashboard($asOf: Date!, $period: PeriodInput!, $previous: PeriodInput!, $cohortsFrom: Date!) {\n  stages(asOf: $asOf) {\n    key\n    name\n    count\n    share\n  }\n  funnel(asOf: $asOf) {\n    stage {\n      key\n    }\n    reached\n    dropOffFromPrevious\n  }\n  rfmGrid(asOf: $asOf) {\n    buyers\n    cells {\n      recency\n      frequency\n      customers\n      revenue\n    }\n    segments {\n      segment\n      customers\n      share\n    }\n  }\n  cohorts(from: $cohortsFrom, to: $asOf, asOf: $asOf, months: 12) {\n    month\n    customers\n    revenuePerCustomer\n    months {\n      offset\n      retention\n    }\n  }\n  metrics(\n    keys: [ACTIVE_CUSTOMERS, NEW_CUSTOMERS, REVENUE, CONVERSION_RATE, REPEAT_PURCHASE_RATE, RETENTION_RATE, CHURN_RATE, AVERAGE_ORDER_VALUE, HISTORICAL_LTV, CAC, LTV_TO_CAC, PARETO_TOP20_REVENUE_SHARE, NPS]\n    period: $period\n    compareTo: $previous\n  ) {\n    key\n    name\n    unit\n    value\n    comparison {\n      value\n      change\n      relativeChange\n    }\n  }\n}": typeof types.DashboardDocument,
    "query SavedSegments($first: Int, $after: String, $filter: SegmentFilter) {\n  segments(first: $first, after: $after, filter: $filter) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        name\n        version\n        archived\n        updatedAt\n      }\n    }\n  }\n}": typeof types.SavedSegmentsDocument,
    "query StageOverview($asOf: Date!, $since: Date!) {\n  stages(asOf: $asOf) {\n    key\n    name\n    order\n    kind\n    count\n    share\n  }\n  stageTransitions(from: $since, to: $asOf) {\n    from {\n      key\n    }\n    to {\n      key\n    }\n    count\n  }\n  stageTimings(from: $since, to: $asOf, stepDays: 7) {\n    stage {\n      key\n    }\n    entries\n    medianDaysFromFirstSeen\n    medianDaysFromFirstPurchase\n  }\n}": typeof types.StageOverviewDocument,
    "query WarehouseOverview {\n  warehouse {\n    kind\n    tables {\n      name\n      source\n      required\n      present\n      missingColumns\n      rowCount\n    }\n  }\n}": typeof types.WarehouseOverviewDocument,
};
const documents: Documents = {
    "query CustomerStage($id: ID!, $asOf: Date) {\n  customer(id: $id, asOf: $asOf) {\n    id\n    asOf\n    stage {\n      key\n      name\n      recommendedActions\n    }\n    furthestStage {\n      key\n    }\n    features {\n      purchaseDays\n      recencyDays\n      meanGapDays\n      revenue\n      referredCount\n    }\n  }\n}": types.CustomerStageDocument,
    "query Dashboard($asOf: Date!, $period: PeriodInput!, $previous: PeriodInput!, $cohortsFrom: Date!) {\n  stages(asOf: $asOf) {\n    key\n    name\n    count\n    share\n  }\n  funnel(asOf: $asOf) {\n    stage {\n      key\n    }\n    reached\n    dropOffFromPrevious\n  }\n  rfmGrid(asOf: $asOf) {\n    buyers\n    cells {\n      recency\n      frequency\n      customers\n      revenue\n    }\n    segments {\n      segment\n      customers\n      share\n    }\n  }\n  cohorts(from: $cohortsFrom, to: $asOf, asOf: $asOf, months: 12) {\n    month\n    customers\n    revenuePerCustomer\n    months {\n      offset\n      retention\n    }\n  }\n  metrics(\n    keys: [ACTIVE_CUSTOMERS, NEW_CUSTOMERS, REVENUE, CONVERSION_RATE, REPEAT_PURCHASE_RATE, RETENTION_RATE, CHURN_RATE, AVERAGE_ORDER_VALUE, HISTORICAL_LTV, CAC, LTV_TO_CAC, PARETO_TOP20_REVENUE_SHARE, NPS]\n    period: $period\n    compareTo: $previous\n  ) {\n    key\n    name\n    unit\n    value\n    comparison {\n      value\n      change\n      relativeChange\n    }\n  }\n}": types.DashboardDocument,
    "query SavedSegments($first: Int, $after: String, $filter: SegmentFilter) {\n  segments(first: $first, after: $after, filter: $filter) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        name\n        version\n        archived\n        updatedAt\n      }\n    }\n  }\n}": types.SavedSegmentsDocument,
    "query StageOverview($asOf: Date!, $since: Date!) {\n  stages(asOf: $asOf) {\n    key\n    name\n    order\n    kind\n    count\n    share\n  }\n  stageTransitions(from: $since, to: $asOf) {\n    from {\n      key\n    }\n    to {\n      key\n    }\n    count\n  }\n  stageTimings(from: $since, to: $asOf, stepDays: 7) {\n    stage {\n      key\n    }\n    entries\n    medianDaysFromFirstSeen\n    medianDaysFromFirstPurchase\n  }\n}": types.StageOverviewDocument,
    "query WarehouseOverview {\n  warehouse {\n    kind\n    tables {\n      name\n      source\n      required\n      present\n      missingColumns\n      rowCount\n    }\n  }\n}": types.WarehouseOverviewDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query CustomerStage($id: ID!, $asOf: Date) {\n  customer(id: $id, asOf: $asOf) {\n    id\n    asOf\n    stage {\n      key\n      name\n      recommendedActions\n    }\n    furthestStage {\n      key\n    }\n    features {\n      purchaseDays\n      recencyDays\n      meanGapDays\n      revenue\n      referredCount\n    }\n  }\n}"): (typeof documents)["query CustomerStage($id: ID!, $asOf: Date) {\n  customer(id: $id, asOf: $asOf) {\n    id\n    asOf\n    stage {\n      key\n      name\n      recommendedActions\n    }\n    furthestStage {\n      key\n    }\n    features {\n      purchaseDays\n      recencyDays\n      meanGapDays\n      revenue\n      referredCount\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Dashboard($asOf: Date!, $period: PeriodInput!, $previous: PeriodInput!, $cohortsFrom: Date!) {\n  stages(asOf: $asOf) {\n    key\n    name\n    count\n    share\n  }\n  funnel(asOf: $asOf) {\n    stage {\n      key\n    }\n    reached\n    dropOffFromPrevious\n  }\n  rfmGrid(asOf: $asOf) {\n    buyers\n    cells {\n      recency\n      frequency\n      customers\n      revenue\n    }\n    segments {\n      segment\n      customers\n      share\n    }\n  }\n  cohorts(from: $cohortsFrom, to: $asOf, asOf: $asOf, months: 12) {\n    month\n    customers\n    revenuePerCustomer\n    months {\n      offset\n      retention\n    }\n  }\n  metrics(\n    keys: [ACTIVE_CUSTOMERS, NEW_CUSTOMERS, REVENUE, CONVERSION_RATE, REPEAT_PURCHASE_RATE, RETENTION_RATE, CHURN_RATE, AVERAGE_ORDER_VALUE, HISTORICAL_LTV, CAC, LTV_TO_CAC, PARETO_TOP20_REVENUE_SHARE, NPS]\n    period: $period\n    compareTo: $previous\n  ) {\n    key\n    name\n    unit\n    value\n    comparison {\n      value\n      change\n      relativeChange\n    }\n  }\n}"): (typeof documents)["query Dashboard($asOf: Date!, $period: PeriodInput!, $previous: PeriodInput!, $cohortsFrom: Date!) {\n  stages(asOf: $asOf) {\n    key\n    name\n    count\n    share\n  }\n  funnel(asOf: $asOf) {\n    stage {\n      key\n    }\n    reached\n    dropOffFromPrevious\n  }\n  rfmGrid(asOf: $asOf) {\n    buyers\n    cells {\n      recency\n      frequency\n      customers\n      revenue\n    }\n    segments {\n      segment\n      customers\n      share\n    }\n  }\n  cohorts(from: $cohortsFrom, to: $asOf, asOf: $asOf, months: 12) {\n    month\n    customers\n    revenuePerCustomer\n    months {\n      offset\n      retention\n    }\n  }\n  metrics(\n    keys: [ACTIVE_CUSTOMERS, NEW_CUSTOMERS, REVENUE, CONVERSION_RATE, REPEAT_PURCHASE_RATE, RETENTION_RATE, CHURN_RATE, AVERAGE_ORDER_VALUE, HISTORICAL_LTV, CAC, LTV_TO_CAC, PARETO_TOP20_REVENUE_SHARE, NPS]\n    period: $period\n    compareTo: $previous\n  ) {\n    key\n    name\n    unit\n    value\n    comparison {\n      value\n      change\n      relativeChange\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query SavedSegments($first: Int, $after: String, $filter: SegmentFilter) {\n  segments(first: $first, after: $after, filter: $filter) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        name\n        version\n        archived\n        updatedAt\n      }\n    }\n  }\n}"): (typeof documents)["query SavedSegments($first: Int, $after: String, $filter: SegmentFilter) {\n  segments(first: $first, after: $after, filter: $filter) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        name\n        version\n        archived\n        updatedAt\n      }\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query StageOverview($asOf: Date!, $since: Date!) {\n  stages(asOf: $asOf) {\n    key\n    name\n    order\n    kind\n    count\n    share\n  }\n  stageTransitions(from: $since, to: $asOf) {\n    from {\n      key\n    }\n    to {\n      key\n    }\n    count\n  }\n  stageTimings(from: $since, to: $asOf, stepDays: 7) {\n    stage {\n      key\n    }\n    entries\n    medianDaysFromFirstSeen\n    medianDaysFromFirstPurchase\n  }\n}"): (typeof documents)["query StageOverview($asOf: Date!, $since: Date!) {\n  stages(asOf: $asOf) {\n    key\n    name\n    order\n    kind\n    count\n    share\n  }\n  stageTransitions(from: $since, to: $asOf) {\n    from {\n      key\n    }\n    to {\n      key\n    }\n    count\n  }\n  stageTimings(from: $since, to: $asOf, stepDays: 7) {\n    stage {\n      key\n    }\n    entries\n    medianDaysFromFirstSeen\n    medianDaysFromFirstPurchase\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query WarehouseOverview {\n  warehouse {\n    kind\n    tables {\n      name\n      source\n      required\n      present\n      missingColumns\n      rowCount\n    }\n  }\n}"): (typeof documents)["query WarehouseOverview {\n  warehouse {\n    kind\n    tables {\n      name\n      source\n      required\n      present\n      missingColumns\n      rowCount\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;