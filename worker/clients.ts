// Builds clients once per region profile, resolving credentials from their source (never from inputs).
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { readFileSync } from 'node:fs';
import { Connection, ConnectionOptions } from '@temporalio/client';
import { NativeConnection, NativeConnectionOptions } from '@temporalio/worker';
import { LifeboatConfig, RegionProfile, TemporalSettings } from '../core/config';
import type { CephZoneDeps } from '../activities/replication/ceph';
import { disableFastCopy } from '../activities/s3/fast-copy';
import { ConfigError, readStackProfile } from './config';

interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

function credentialsFor(name: string, profile: RegionProfile): StaticCredentials | undefined {
  const c = profile.credentials;
  switch (c.source) {
    case 'default':
    case 'profile':
      return undefined; // the SDK's chain (with `profile` set on the client for a named profile)
    case 'environment': {
      const accessKeyId = process.env[c.accessKeyIdVar];
      const secretAccessKey = process.env[c.secretAccessKeyVar];
      if (!accessKeyId || !secretAccessKey) {
        throw new ConfigError(
          `region "${name}": credentials come from the environment, but ${c.accessKeyIdVar} or ${c.secretAccessKeyVar} is not set`,
        );
      }
      return {
        accessKeyId,
        secretAccessKey,
        sessionToken: c.sessionTokenVar ? process.env[c.sessionTokenVar] : undefined,
      };
    }
    case 'local-stack': {
      const r = readStackProfile().regions[name];
      if (!r) throw new ConfigError(`region "${name}" is not part of the local stack's profile`);
      return { accessKeyId: r.accessKeyId, secretAccessKey: r.secretAccessKey };
    }
  }
}

export function createS3Client(name: string, profile: RegionProfile, maxSockets = 64): S3Client {
  const client = new S3Client({
    region: profile.region,
    endpoint: profile.endpoint,
    forcePathStyle: profile.forcePathStyle,
    credentials: credentialsFor(name, profile),
    profile: profile.credentials.source === 'profile' ? profile.credentials.profile : undefined,
    // Keep-alive sockets: a fresh TCP connection per request costs more than the request on small objects.
    requestHandler: {
      httpAgent: new Agent({ keepAlive: true, maxSockets }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
      // A region that accepts no connection is down: say so in seconds, not at the OS's TCP timeout.
      connectionTimeout: 10_000,
    },
    // Checksums only when the operation requires them: not every S3-compatible service returns them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  if (profile.fastCopy === false) disableFastCopy(client);
  return client;
}

export function createS3Clients(config: LifeboatConfig): Record<string, S3Client> {
  return Object.fromEntries(
    Object.entries(config.regions).map(([name, p]) => [name, createS3Client(name, p)]),
  );
}

/** CloudWatch of a region profile (replication lag), with the same credentials as its S3 client. */
export function createCloudWatchClient(name: string, profile: RegionProfile): CloudWatchClient {
  return new CloudWatchClient({
    region: profile.region,
    endpoint: profile.cloudwatchEndpoint,
    credentials: credentialsFor(name, profile),
    profile: profile.credentials.source === 'profile' ? profile.credentials.profile : undefined,
  });
}

export function createCloudWatchClients(config: LifeboatConfig): Record<string, CloudWatchClient> {
  return Object.fromEntries(
    Object.entries(config.regions).map(([name, p]) => [name, createCloudWatchClient(name, p)]),
  );
}

/** The Ceph zones of the config's 'ceph' regions, for createCephReplicationProvider; system keys resolved here. */
export function cephZones(config: LifeboatConfig): Record<string, CephZoneDeps> {
  const zones: Record<string, CephZoneDeps> = {};
  for (const [name, p] of Object.entries(config.regions)) {
    if (p.platform !== 'ceph' || !p.ceph) continue;
    const c = p.ceph;
    let systemCredentials: CephZoneDeps['systemCredentials'];
    if (c.systemAccessKeyVar && c.systemSecretKeyVar) {
      const accessKeyId = process.env[c.systemAccessKeyVar];
      const secretAccessKey = process.env[c.systemSecretKeyVar];
      if (accessKeyId && secretAccessKey) systemCredentials = { accessKeyId, secretAccessKey };
    } else if (p.credentials.source === 'local-stack') {
      const lab = readStackProfile().regions[name]?.ceph;
      if (lab) systemCredentials = { accessKeyId: lab.systemAccessKey, secretAccessKey: lab.systemSecretKey };
    }
    zones[name] = {
      zone: c.zone,
      zonegroup: c.zonegroup,
      confPath: c.confPath,
      adminCommand: c.adminCommand,
      restartCommand: c.restartCommand,
      systemCredentials,
    };
  }
  return zones;
}

function temporalTls(t: TemporalSettings) {
  if (!t.tls) return t.apiKeyVar ? true : undefined;
  return {
    serverNameOverride: t.tls.serverName,
    serverRootCACertificate: t.tls.serverRootCaPath ? readFileSync(t.tls.serverRootCaPath) : undefined,
    clientCertPair: { crt: readFileSync(t.tls.clientCertPath), key: readFileSync(t.tls.clientKeyPath) },
  };
}

function temporalApiKey(t: TemporalSettings): string | undefined {
  if (!t.apiKeyVar) return undefined;
  const key = process.env[t.apiKeyVar];
  if (!key) throw new ConfigError(`temporal.apiKeyVar names ${t.apiKeyVar}, which is not set`);
  return key;
}

export function temporalConnectionOptions(t: TemporalSettings): ConnectionOptions & NativeConnectionOptions {
  return { address: t.address, tls: temporalTls(t), apiKey: temporalApiKey(t) };
}

export async function connectClient(t: TemporalSettings): Promise<Connection> {
  return Connection.connect({ ...temporalConnectionOptions(t), connectTimeout: '5s' });
}

export async function connectWorker(t: TemporalSettings): Promise<NativeConnection> {
  return NativeConnection.connect(temporalConnectionOptions(t));
}
