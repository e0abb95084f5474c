// Builds the replication provider of each region profile, by its platform (AWS CRR, Ceph multisite).
import { S3Client } from '@aws-sdk/client-s3';
import { awsReplicationDeps, createAwsReplicationProvider } from '../activities/replication/aws';
import type { ReplicationProvider } from '../activities/replication/provider';
import { LifeboatConfig } from '../core/config';
import { createCloudWatchClients } from './clients';

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
  return out;
}
