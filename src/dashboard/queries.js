// Every GraphQL operation the dashboard sends, in one place. The page reads only the public API
// (POST /graphql). Each card has its own operation, sent in parallel: the root fields are non-null, so
// one failing field would null the whole answer of a combined request, and a card of its own fails alone
// (and shows its error) while the others render.

/** The day answers without asOf are for: the state store's, or the last day with data when it ended before today. */
export const DEFAULT_DAY = /* GraphQL */ `
  query DashboardDefaultDay {
    defaultDay
  }
`;

/** The saved segments for the segment picker (not archived). */
export const SEGMENTS = /* GraphQL */ `
  query DashboardSegments {
    segments(first: 500) {
      totalCount
      edges {
        node {
          id
          name
          description
        }
      }
    }
  }
`;

/** Stage distribution of all customers known on the day. */
export const STAGES = /* GraphQL */ `
  query DashboardStages($asOf: Date!) {
    stages(asOf: $asOf) {
      key
      name
      kind
      order
      count
      share
    }
  }
`;

/** Stage distribution of a saved segment's members on the day. */
export const SEGMENT_STAGES = /* GraphQL */ `
  query DashboardSegmentStages($segmentId: ID!, $asOf: Date!) {
    segment(id: $segmentId) {
      id
      name
      membership(asOf: $asOf) {
        size
        stageBreakdown {
          stage {
            key
            name
            kind
            order
          }
          count
          share
        }
      }
    }
  }
`;

/** The progress funnel with drop-off between steps (segmentId: null for all customers). */
export const FUNNEL = /* GraphQL */ `
  query DashboardFunnel($asOf: Date!, $segmentId: ID) {
    funnel(asOf: $asOf, segmentId: $segmentId) {
      stage {
        key
        name
      }
      reached
      atStage
      shareOfFirst
      conversionFromPrevious
      dropOffFromPrevious
    }
  }
`;

/** Moves between stages from one day to another (segmentId: null for all customers, else its members on `to`). */
export const TRANSITIONS = /* GraphQL */ `
  query DashboardTransitions($from: Date!, $to: Date!, $segmentId: ID) {
    stageTransitions(from: $from, to: $to, segmentId: $segmentId) {
      from {
        key
        name
        order
      }
      to {
        key
        name
        order
      }
      count
    }
  }
`;

/** Retention matrix of first-purchase cohorts (segmentId: null for all customers, else its members on asOf). */
export const COHORTS = /* GraphQL */ `
  query DashboardCohorts($from: Date!, $to: Date!, $asOf: Date!, $months: Int!, $segmentId: ID) {
    cohorts(from: $from, to: $to, asOf: $asOf, months: $months, segmentId: $segmentId) {
      month
      customers
      revenuePerCustomer
      months {
        offset
        month
        activeCustomers
        retention
      }
    }
  }
`;

/**
 * RFM recency × frequency grid and named segments (segmentId: null for all buyers, else the segment's
 * buyers on asOf, still scored among all buyers).
 */
export const RFM = /* GraphQL */ `
  query DashboardRfm($asOf: Date!, $segmentId: ID) {
    rfmGrid(asOf: $asOf, segmentId: $segmentId) {
      buyers
      cells {
        recency
        frequency
        customers
        revenue
      }
      segments {
        segment
        customers
        share
        revenue
      }
    }
  }
`;

/** The headline metrics shown, in order. */
export const METRIC_KEYS = [
  "ACTIVE_CUSTOMERS",
  "NEW_CUSTOMERS",
  "REVENUE",
  "ORDERS",
  "AVERAGE_ORDER_VALUE",
  "CONVERSION_RATE",
  "LEAD_TO_CUSTOMER_RATE",
  "REPEAT_PURCHASE_RATE",
  "RETENTION_RATE",
  "CHURN_RATE",
  "HISTORICAL_LTV",
  "CAC",
  "LTV_TO_CAC",
  "PARETO_TOP20_REVENUE_SHARE",
  "NPS",
];

/** Headline metrics over the period, compared with the period before (segmentId: null for all customers). */
export const METRICS = /* GraphQL */ `
  query DashboardMetrics($keys: [MetricKey!], $period: PeriodInput!, $previous: PeriodInput!, $segmentId: ID) {
    metrics(keys: $keys, period: $period, compareTo: $previous, segmentId: $segmentId) {
      key
      name
      description
      unit
      available
      value
      population
      comparison {
        value
        change
        relativeChange
      }
    }
  }
`;

/** One metric per month (one warehouse query per group of metrics, not one per month). */
export const TREND = /* GraphQL */ `
  query DashboardTrend($keys: [MetricKey!]!, $from: Date!, $to: Date!, $segmentId: ID) {
    metricSeries(keys: $keys, from: $from, to: $to, interval: MONTH, segmentId: $segmentId) {
      period {
        from
        to
      }
      values {
        key
        name
        unit
        available
        value
      }
    }
  }
`;

/** The purchase model fitted up to calibrationEnd, against what the buyers did after it. */
export const CLV_CHECK = /* GraphQL */ `
  query DashboardClvCheck($calibrationEnd: Date!, $holdoutEnd: Date!) {
    clvValidation(calibrationEnd: $calibrationEnd, holdoutEnd: $holdoutEnd) {
      customers
      actualHoldoutPurchases
      predictedHoldoutPurchases
      meanAbsoluteError
      rootMeanSquaredError
      tracking {
        to
        period
        cumulativeRepeatPurchases
        cumulativeExpectedRepeatPurchases
      }
    }
  }
`;

/** Stage shares at the end of each month (from the state store's day counts when it serves the day). */
export const SERIES = /* GraphQL */ `
  query DashboardSeries($from: Date!, $to: Date!) {
    stageSeries(from: $from, to: $to, interval: MONTH) {
      start
      day
      total
      stages {
        stage {
          key
          name
          kind
          order
        }
        count
        share
      }
    }
  }
`;

/** The stages to rank customers in, for the ranked list's picker. */
export const STAGE_KEYS = /* GraphQL */ `
  query DashboardStageKeys {
    stages {
      key
      name
      kind
      order
    }
  }
`;

/** What the state store serves: its day and whether it keeps predicted lifetime values. */
export const STATE_STORE = /* GraphQL */ `
  query DashboardStateStore {
    stateStore {
      stateDay
      lifetimeValue {
        model
      }
    }
  }
`;

/** A stage's customers ranked (segmentId: null for all customers, else its members on asOf). */
export const RANKED = /* GraphQL */ `
  query DashboardRanked($stage: String!, $asOf: Date!, $segmentId: ID, $orderBy: CustomerRankField!) {
    rankedCustomers(stage: $stage, orderBy: $orderBy, first: 10, asOf: $asOf, segmentId: $segmentId) {
      edges {
        node {
          id
          features {
            revenue
            purchaseDays
            recencyDays
          }
          prediction {
            predictedClv
          }
        }
      }
    }
  }
`;

/** One customer on the day: stages, RFM, predicted CLV and the stage history for the timeline. */
export const CUSTOMER = /* GraphQL */ `
  query DashboardCustomer($id: ID!, $asOf: Date!) {
    customer(id: $id, asOf: $asOf) {
      id
      asOf
      stage {
        key
        name
        kind
      }
      furthestStage {
        key
        name
      }
      features {
        firstSeenDate
        lastPurchaseDate
        purchaseDays
        revenue
      }
      rfm {
        code
        segment
      }
      prediction {
        predictedClv
        probabilityAlive
      }
      stageHistory {
        stage {
          key
          name
          kind
          order
        }
        from
        to
      }
    }
  }
`;

/** The newest stage changes of the outbox (what the webhooks and subscriptions deliver). */
export const LATEST_CHANGES = /* GraphQL */ `
  query DashboardLatestChanges {
    lifecycleEvents(newestFirst: true, first: 10) {
      events {
        id
        day
        customerId
        fromStage
        toStage
        createdAt
      }
      hasMore
    }
  }
`;
