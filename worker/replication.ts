// Builds the replication provider of each region profile, by its platform (AWS CRR, Ceph multisite).
import { S3Client } from '@aws-sdk/client-s3';
import { awsReplicationDeps, createAwsReplicationProvider } from '../activities/replication/aws';
import type { ReplicationProvider } from '../activities/replication/provider';
import { LifeboatConfig } from '../core/config';
import { cephZones, createCloudWatchClients } from './clients';
import { createCephReplicationProvider } from '../activities/replication/ceph';

export function createReplicationProviders(
  config: LifeboatConfig,
  s3: Record<string, S3Client>,
): Record<string, ReplicationProvider> {
  const out: Record<string, ReplicationProvider> = {};
  const regions = Object.entries(config.regions);
  if (regions.some(([, p]) => p.platform === 'aws')) {
    const aws = createAwsReplicationProvider(awsReplicationDeps(config, s3, createCloudWatchClients(config)));
    for (const [name, p] of regions) if (p.platform === 'aws') out[name] = aws;
  }
  const ceph = cephZones(config);
  if (Object.keys(ceph).length > 0) {
    // One provider for the Ceph regions: a pair's two zones are in one realm.
    const provider = createCephReplicationProvider({ zones: ceph, s3 });
    for (const name of Object.keys(ceph)) out[name] = provider;
  }
  return out;
}
