// The survey of a bulk job before its first write: one pass over the listing, planned key by key as the
// pages will be, counting what the job would delete, overwrite and create (the blast-radius gate), how
// many keys it covers (the progress total), where to split it (parts), and its oldest version.
import { Context } from '@temporalio/activity';
import { BlastRadius, emptyBlastRadius, tallyKey } from '../core/gate';
import { KeySampler } from '../core/key-ranges';
import {
  changeKindOf,
  countAction,
  emptyCounts,
  PitrPlanOptions,
  PlanCounts,
  planKeyInPlace,
  planKeyToTarget,
  targetKey,
} from '../core/pitr';
import { s3For } from './deps';
import { Location } from './restore';
import { listCompleteKeys, listTargetRange } from './s3/list-keys';
import { ReportsDeps } from './reports';
import { classifyS3Error } from './s3/errors';

export interface SurveyInput {
  source: Location;
  target?: Location;
  at: string;
  from?: string;
  deleteKeysCreatedAfter: boolean;
  skipExisting: boolean;
  /** Also return the boundaries that cut the keys into this many ranges of about equal size. */
  parts?: number;
}

export interface SurveyResult {
  radius: BlastRadius;
  planned: PlanCounts;
  versions: number;
  /** The oldest and newest change (version or delete marker) in scope. */
  oldestChange?: string;
  newestChange?: string;
  boundaries?: string[];
}

/** Versions listed per request of the survey: the most S3 returns. */
const SURVEY_PAGE = 1000;

export function createSurveyActivities(deps: ReportsDeps) {
  return {
    surveyJob: async (input: SurveyInput): Promise<SurveyResult> => {
      const ctx = Context.current();
      const sourceS3 = s3For(deps, input.source.region);
      const target = input.target;
      const targetS3 = target ? s3For(deps, target.region) : undefined;
      const options: PitrPlanOptions = {
        at: input.at,
        from: input.from,
        deleteKeysCreatedAfter: input.deleteKeysCreatedAfter,
        skipExisting: input.skipExisting,
      };
      const sampler = new KeySampler();
      let radius = emptyBlastRadius();
      let planned = emptyCounts();
      let versions = 0;
      let oldest: number | undefined;
      let newest: number | undefined;
      let afterKey: string | undefined;
      const { bucket, prefix } = input.source;
      try {
        for (;;) {
          const page = await listCompleteKeys(sourceS3, bucket, prefix, afterKey, SURVEY_PAGE);
          const groups = page.groups;
          const map = (k: string) => targetKey(k, prefix, target!.prefix);
          const targetObjects =
            target && targetS3 && groups.length > 0
              ? await listTargetRange(
                  targetS3,
                  target.bucket,
                  target.prefix,
                  afterKey !== undefined ? map(afterKey) : undefined,
                  Promise.resolve(map(groups[groups.length - 1].key)),
                )
              : undefined;
          for (const g of groups) {
            sampler.add(g.key);
            for (const e of g.entries) {
              versions++;
              const t = Date.parse(e.lastModified);
              oldest = oldest === undefined ? t : Math.min(oldest, t);
              newest = newest === undefined ? t : Math.max(newest, t);
            }
            const action = target
              ? planKeyToTarget(g.key, g.entries, targetObjects?.get(map(g.key)), options)
              : planKeyInPlace(g.key, g.entries, options);
            planned = countAction(planned, action);
            radius = tallyKey(radius, g.key, changeKindOf(action));
          }
          ctx.heartbeat({ keys: sampler.keys, versions });
          if (page.done || groups.length === 0) break;
          afterKey = groups[groups.length - 1].key;
        }
      } catch (err) {
        throw classifyS3Error(err, `${input.source.region}/${bucket}/${prefix}`);
      }
      return {
        radius,
        planned,
        versions,
        oldestChange: oldest !== undefined ? new Date(oldest).toISOString() : undefined,
        newestChange: newest !== undefined ? new Date(newest).toISOString() : undefined,
        boundaries: input.parts !== undefined ? sampler.boundaries(input.parts) : undefined,
      };
    },
  };
}

export type SurveyActivities = ReturnType<typeof createSurveyActivities>;
