// Activities of version recovery: read a key's versions, copy a version back, remove delete markers.
import { DeleteObjectCommand, GetBucketVersioningCommand } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../core/errors';
import { bareEtag, VersionEntry } from '../core/versions';
import { S3Deps, s3For } from './deps';
import { copyVersionInPlace, headVersion } from './s3/copy';
import { classifyS3Error, s3Status } from './s3/errors';
import { activitySignal } from './s3/signal';
import { listKeyVersions } from './s3/versions';

export interface BucketRef {
  region: string;
  bucket: string;
}
export interface KeyRef extends BucketRef {
  key: string;
}

export interface CurrentVersion {
  key: string;
  versionId: string;
  etag?: string;
  size: number;
  contentType?: string;
}

export function createVersionRecoveryActivities(deps: S3Deps) {
  return {
    /** The bucket exists and versioning is on (Suspended is refused when the run would write). */
    checkBucketVersioning: async (ref: BucketRef & { forWrite: boolean }): Promise<{ status: string }> => {
      const where = `${ref.region}/${ref.bucket}`;
      try {
        const out = await s3For(deps, ref.region).send(
          new GetBucketVersioningCommand({ Bucket: ref.bucket }),
          {
            abortSignal: activitySignal(),
          },
        );
        const status = out.Status ?? 'Unversioned';
        if (status === 'Enabled' || (status === 'Suspended' && !ref.forWrite)) return { status };
        throw ApplicationFailure.nonRetryable(
          status === 'Suspended'
            ? `versioning is suspended on ${where}: a recovery copy would overwrite the null version; enable versioning first`
            : `versioning is not enabled on ${where}: version recovery needs versioning (aws s3api put-bucket-versioning --versioning-configuration Status=Enabled)`,
          ErrorType.VersioningNotEnabled,
        );
      } catch (err) {
        throw classifyS3Error(err, where);
      }
    },

    listKeyVersions: async (ref: KeyRef): Promise<VersionEntry[]> => {
      try {
        return await listKeyVersions(s3For(deps, ref.region), ref.bucket, ref.key);
      } catch (err) {
        throw classifyS3Error(err, `${ref.region}/${ref.bucket}/${ref.key}`);
      }
    },

    /**
     * Make `sourceVersionId` current again. Safe to redo: when the current version already has the
     * source's bytes (same ETag and size, as after a copy whose completion was lost), nothing is written.
     */
    copyVersionBack: async (
      ref: KeyRef & { sourceVersionId: string; sourceEtag?: string; sourceSize: number },
    ): Promise<{ newVersionId: string; copied: boolean }> => {
      const s3 = s3For(deps, ref.region);
      const where = `${ref.region}/${ref.bucket}/${ref.key}`;
      try {
        // One HEAD tells what a reader gets now (404: deleted, so the copy is needed).
        const current = await headVersion(s3, ref.bucket, ref.key).catch((err: unknown) => {
          if (s3Status(err) === 404) return undefined;
          throw err;
        });
        const currentEtag = bareEtag(current?.ETag);
        if (
          current &&
          (current.VersionId === ref.sourceVersionId ||
            (ref.sourceEtag !== undefined &&
              currentEtag === ref.sourceEtag &&
              current.ContentLength === ref.sourceSize))
        ) {
          return { newVersionId: current.VersionId ?? 'null', copied: false };
        }
        const out = await copyVersionInPlace(
          s3,
          ref.bucket,
          ref.key,
          ref.sourceVersionId,
          ref.sourceSize,
          deps,
        );
        return { newVersionId: out.versionId, copied: true };
      } catch (err) {
        const status = s3Status(err);
        if (status === 404) {
          throw ApplicationFailure.nonRetryable(
            `version ${ref.sourceVersionId} of ${where} no longer exists`,
            ErrorType.NoSuchVersion,
          );
        }
        throw classifyS3Error(err, where);
      }
    },

    /**
     * Delete the given delete markers, and only delete markers: each id is checked against a fresh
     * listing first, so a version holding data is never removed. Ids already gone count as removed.
     */
    removeDeleteMarkers: async (
      ref: KeyRef & { markerVersionIds: string[] },
    ): Promise<{ removed: number }> => {
      const s3 = s3For(deps, ref.region);
      const where = `${ref.region}/${ref.bucket}/${ref.key}`;
      try {
        const entries = await listKeyVersions(s3, ref.bucket, ref.key);
        let removed = 0;
        for (const id of ref.markerVersionIds) {
          const entry = entries.find((e) => e.versionId === id);
          if (!entry) continue;
          if (!entry.isDeleteMarker) {
            throw ApplicationFailure.nonRetryable(
              `refusing to delete ${where} version ${id}: it holds data, not a delete marker`,
              ErrorType.NoDeleteMarker,
            );
          }
          await s3.send(new DeleteObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: id }), {
            abortSignal: activitySignal(),
          });
          removed += 1;
        }
        return { removed };
      } catch (err) {
        throw classifyS3Error(err, where);
      }
    },

    /** What a reader gets now: the current version's id, ETag, size and content type. */
    readCurrent: async (ref: KeyRef): Promise<CurrentVersion | null> => {
      try {
        const head = await headVersion(s3For(deps, ref.region), ref.bucket, ref.key);
        return {
          key: ref.key,
          versionId: head.VersionId ?? 'null',
          etag: bareEtag(head.ETag),
          size: head.ContentLength ?? 0,
          contentType: head.ContentType,
        };
      } catch (err) {
        if (s3Status(err) === 404) return null; // deleted: current is a delete marker, or no such key
        throw classifyS3Error(err, `${ref.region}/${ref.bucket}/${ref.key}`);
      }
    },
  };
}

export type VersionRecoveryActivities = ReturnType<typeof createVersionRecoveryActivities>;
