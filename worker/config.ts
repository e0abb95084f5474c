// Loads the configuration: a YAML file (--config or LIFEBOAT_CONFIG), else the local stack's profile.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { LifeboatConfig } from '../core/config';
import { parseInput } from '../core/validate';

export class ConfigError extends Error {}

/** The checkout's root: the nearest folder above this file with Lifeboat's package.json. */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'lifeboat')
      return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

export function stackDir(): string {
  return process.env.LIFEBOAT_STACK_DIR ?? join(projectRoot(), '.stack');
}

/** What `npm run stack:up` writes: endpoints and lab keys of the local services. */
export interface StackProfile {
  temporal: { address: string; namespace: string; webUi: string };
  regions: Record<
    string,
    {
      endpoint: string;
      region: string;
      forcePathStyle: boolean;
      accessKeyId: string;
      secretAccessKey: string;
      /** The zone's facts for the Ceph replication provider (lab keys of the system user included). */
      ceph?: {
        zone: string;
        zonegroup: string;
        conf: string;
        restartCommand: string[];
        systemAccessKey: string;
        systemSecretKey: string;
      };
    }
  >;
  moto: { endpoint: string };
  logs: string;
}

export function readStackProfile(): StackProfile {
  const file = join(stackDir(), 'profile.json');
  if (!existsSync(file)) {
    throw new ConfigError(
      `the local stack is not running (no ${file}): start it with "npm run stack:up", or pass --config`,
    );
  }
  return JSON.parse(readFileSync(file, 'utf8')) as StackProfile;
}

/** The configuration the local stack implies: regions primary and secondary (Ceph zones) and its Temporal. */
export function localStackConfig(profile: StackProfile = readStackProfile()): LifeboatConfig {
  const regions: LifeboatConfig['regions'] = {};
  for (const [name, r] of Object.entries(profile.regions)) {
    regions[name] = {
      endpoint: r.endpoint,
      region: r.region,
      forcePathStyle: true,
      credentials: { source: 'local-stack' },
      platform: 'ceph',
      ...(r.ceph && {
        ceph: {
          zone: r.ceph.zone,
          zonegroup: r.ceph.zonegroup,
          confPath: r.ceph.conf,
          restartCommand: r.ceph.restartCommand,
        },
      }),
    };
  }
  return {
    temporal: {
      address: profile.temporal.address,
      namespace: profile.temporal.namespace,
      taskQueue: 'lifeboat',
      lockTaskQueue: 'lifeboat-locks',
      webUi: profile.temporal.webUi,
    },
    regions,
    protectedBuckets: {},
    reports: { region: 'primary', bucket: 'lifeboat-reports', prefix: 'lifeboat/' },
  };
}

export function parseConfig(text: string, source: string): LifeboatConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${source} is not valid YAML: ${(err as Error).message}`);
  }
  const parsed = parseInput(LifeboatConfig, raw, 'configuration');
  if (!parsed.ok) throw new ConfigError(`${source}: ${parsed.message}`);
  return parsed.value;
}

/** --config PATH, else LIFEBOAT_CONFIG, else the local stack. */
export function loadConfig(path?: string): LifeboatConfig {
  const file = path ?? process.env.LIFEBOAT_CONFIG;
  if (!file) return localStackConfig();
  const full = resolve(file);
  if (!existsSync(full)) throw new ConfigError(`configuration file not found: ${full}`);
  return parseConfig(readFileSync(full, 'utf8'), full);
}
