// Ceph RGW multisite as plain data: parsers of radosgw-admin's outputs and the argv of each operation.
import type { ReplicationDirection, ReplicationRuleSummary } from './replication';

// --- sync status ------------------------------------------------------------------------------

/** One "data sync source" block of `radosgw-admin sync status`, or one source of `bucket sync status`. */
export interface SyncSourceStatus {
  zoneId: string;
  zoneName: string;
  /** 'syncing', 'init', 'not syncing from zone', ... as printed. */
  state: string;
  /** The block says "... is caught up with source". */
  caughtUp: boolean;
  /** Shards the block names as behind (empty when caught up or not said). */
  behindShards: number[];
  /** Shards still in full sync ("full sync: 3/8 shards" -> 3). */
  fullSyncShards: number;
  /** "oldest incremental change not applied": ISO instant, when printed. */
  oldestChange: string | null;
  /** "failed to retrieve sync info: ..." and the like. */
  error: string | null;
}

export interface SyncStatus {
  zoneId: string;
  zoneName: string;
  /** The zone is the metadata master ("metadata sync no sync (zone is master)"). */
  metadataMaster: boolean;
  /** Metadata caught up with the master (true on the master itself). */
  metadataCaughtUp: boolean;
  sources: SyncSourceStatus[];
}

const idName = /(\S+) \(([^)]*)\)/;

function newSource(zoneId: string, zoneName: string): SyncSourceStatus {
  return {
    zoneId,
    zoneName,
    state: '',
    caughtUp: false,
    behindShards: [],
    fullSyncShards: 0,
    oldestChange: null,
    error: null,
  };
}

/** Applies one indented line of a source block to it; false when the line says nothing known. */
function applySourceLine(src: SyncSourceStatus, line: string): boolean {
  let m: RegExpExecArray | null;
  if (/is caught up with source/.test(line)) src.caughtUp = true;
  else if ((m = /behind shards: \[([\d,\s]*)\]/.exec(line))) src.behindShards = numberList(m[1]);
  else if ((m = /is behind on (\d+) shards?/.exec(line))) {
    if (src.behindShards.length === 0) src.behindShards = new Array<number>(Number(m[1])).fill(-1);
  } else if ((m = /oldest incremental change not applied: (\S+)/.exec(line))) src.oldestChange = m[1];
  else if ((m = /full sync: (\d+)\/(\d+) shards/.exec(line))) src.fullSyncShards = Number(m[1]);
  else if (/incremental sync: /.test(line) || /shards are recovering|recovering shards/.test(line))
    return true;
  else if ((m = /(failed to .*|ERROR: .*)$/.exec(line))) src.error = m[1];
  else return false;
  return true;
}

function numberList(text: string): number[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
}

/** `radosgw-admin sync status --rgw-zone=<z>` (text: this command has no JSON form in Pacific). */
export function parseSyncStatus(text: string): SyncStatus {
  const out: SyncStatus = {
    zoneId: '',
    zoneName: '',
    metadataMaster: false,
    metadataCaughtUp: false,
    sources: [],
  };
  let section: 'header' | 'metadata' | 'data' = 'header';
  let current: SyncSourceStatus | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    let m: RegExpExecArray | null;
    if (section === 'header' && (m = /^zone (\S+) \(([^)]*)\)/.exec(line))) {
      out.zoneId = m[1];
      out.zoneName = m[2];
    } else if (/^metadata sync/.test(line)) {
      section = 'metadata';
      if (/zone is master/.test(line)) {
        out.metadataMaster = true;
        out.metadataCaughtUp = true;
      }
    } else if ((m = /^data sync source: (.*)$/.exec(line))) {
      section = 'data';
      const n = idName.exec(m[1]);
      current = newSource(n ? n[1] : m[1].trim(), n ? n[2] : '');
      out.sources.push(current);
    } else if (section === 'metadata') {
      if (/metadata is caught up with master/.test(line)) out.metadataCaughtUp = true;
    } else if (section === 'data' && current) {
      if (!applySourceLine(current, line) && current.state === '') current.state = line;
    }
  }
  return out;
}

export interface BucketSyncStatus {
  bucket: string;
  zoneName: string;
  /** "Sync is disabled for bucket ... or bucket has no sync sources". */
  noSources: boolean;
  sources: SyncSourceStatus[];
}

/** `radosgw-admin bucket sync status --bucket=<b> --rgw-zone=<z>`. */
export function parseBucketSyncStatus(text: string): BucketSyncStatus {
  const out: BucketSyncStatus = { bucket: '', zoneName: '', noSources: false, sources: [] };
  let current: SyncSourceStatus | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    let m: RegExpExecArray | null;
    if (!current && (m = /^zone (\S+) \(([^)]*)\)/.exec(line))) out.zoneName = m[2];
    else if (!current && (m = /^bucket :?([^[\s]+)\[/.exec(line))) out.bucket = m[1];
    else if (/Sync is disabled for bucket|has no sync sources/.test(line)) out.noSources = true;
    else if ((m = /^source zone (\S+) \(([^)]*)\)/.exec(line))) {
      current = newSource(m[1], m[2]);
      current.state = 'syncing';
      out.sources.push(current);
    } else if (current && !/^source bucket /.test(line)) {
      if (!applySourceLine(current, line)) current.state = line;
    }
  }
  return out;
}

/** How far `dest` is behind `source`, from the sync status read on the destination zone. */
export interface SourceLag {
  caughtUp: boolean;
  lagSeconds: number | null;
  behindShards: number;
  fullSyncShards: number;
  /** Why it is not known or not syncing, for people. */
  remark: string | null;
}

export function sourceLag(status: SyncStatus, sourceZone: string, now: Date): SourceLag {
  const src = status.sources.find((s) => s.zoneName === sourceZone || s.zoneId === sourceZone);
  if (!src) {
    return {
      caughtUp: false,
      lagSeconds: null,
      behindShards: 0,
      fullSyncShards: 0,
      remark: `zone ${status.zoneName} lists no data sync source ${sourceZone}`,
    };
  }
  const notSyncing = /not syncing/.test(src.state);
  const caughtUp = src.caughtUp && src.fullSyncShards === 0 && !src.error && !notSyncing;
  let lagSeconds: number | null = caughtUp ? 0 : null;
  if (!caughtUp && src.oldestChange) {
    const t = Date.parse(src.oldestChange);
    if (!Number.isNaN(t)) lagSeconds = Math.max(0, Math.round((now.getTime() - t) / 1000));
  }
  let remark: string | null = null;
  if (notSyncing) remark = `zone ${status.zoneName} is not syncing from ${src.zoneName}`;
  else if (src.error)
    remark = `zone ${status.zoneName} cannot read the sync state of ${src.zoneName}: ${src.error}`;
  else if (src.fullSyncShards > 0) remark = `${src.fullSyncShards} shards still in full sync`;
  return {
    caughtUp,
    lagSeconds,
    behindShards: src.behindShards.length,
    fullSyncShards: src.fullSyncShards,
    remark,
  };
}

// --- zonegroup, period, sync policy -----------------------------------------------------------

export interface ZoneInfo {
  id: string;
  name: string;
  endpoints: string[];
}

export interface ZonegroupInfo {
  id: string;
  name: string;
  masterZoneId: string;
  /** Name of the master zone ('' when the id matches no zone). */
  masterZone: string;
  zones: ZoneInfo[];
}

interface RawZone {
  id: string;
  name: string;
  endpoints?: string[];
}
interface RawZonegroup {
  id: string;
  name: string;
  master_zone: string;
  zones?: RawZone[];
  sync_policy?: RawSyncPolicy;
}

function zonegroupFrom(raw: RawZonegroup): ZonegroupInfo {
  const zones = (raw.zones ?? []).map((z) => ({ id: z.id, name: z.name, endpoints: z.endpoints ?? [] }));
  return {
    id: raw.id,
    name: raw.name,
    masterZoneId: raw.master_zone,
    masterZone: zones.find((z) => z.id === raw.master_zone)?.name ?? '',
    zones,
  };
}

/** `radosgw-admin zonegroup get --rgw-zonegroup=<g>` (JSON). */
export function parseZonegroup(json: string): ZonegroupInfo {
  return zonegroupFrom(JSON.parse(json) as RawZonegroup);
}

export interface PeriodInfo {
  id: string;
  epoch: number;
  realmEpoch: number;
  masterZoneId: string;
  zonegroups: ZonegroupInfo[];
}

/** `radosgw-admin period get` (JSON): which period and epoch a zone's cluster holds, and its master. */
export function parsePeriod(json: string): PeriodInfo {
  const raw = JSON.parse(json) as {
    id: string;
    epoch: number;
    realm_epoch: number;
    master_zone: string;
    period_map?: { zonegroups?: RawZonegroup[] };
  };
  return {
    id: raw.id,
    epoch: raw.epoch,
    realmEpoch: raw.realm_epoch,
    masterZoneId: raw.master_zone,
    zonegroups: (raw.period_map?.zonegroups ?? []).map(zonegroupFrom),
  };
}

interface RawPipeSide {
  bucket?: string;
  zones?: string[];
}
interface RawPipe {
  id: string;
  source?: RawPipeSide;
  dest?: RawPipeSide;
  params?: { source?: { filter?: { prefix?: string; tags?: { key: string; value: string }[] } } };
}
interface RawGroup {
  id: string;
  /** 'enabled', 'allowed' or 'forbidden'. */
  status: string;
  data_flow?: {
    directional?: { source_zone: string; dest_zone: string }[];
    symmetrical?: { id?: string; zones: string[] }[];
  };
  pipes?: RawPipe[];
}
interface RawSyncPolicy {
  groups?: RawGroup[];
}

export interface SyncGroup {
  id: string;
  status: string;
  /** Allowed flows as [source zone, dest zone] pairs (symmetrical flows expanded both ways). */
  flows: [string, string][];
  pipes: {
    id: string;
    sourceZones: string[];
    destZones: string[];
    sourceBucket: string;
    destBucket: string;
    prefix: string;
    tags: Record<string, string>;
  }[];
}

/**
 * `radosgw-admin sync policy get` ({ sync_policy: { groups } }), `sync group get` (one group or a list)
 * or a zonegroup's `sync_policy`: the groups, flows expanded to zone pairs.
 */
export function parseSyncPolicy(json: string): SyncGroup[] {
  const raw = JSON.parse(json) as
    { sync_policy?: RawSyncPolicy } | RawSyncPolicy | RawGroup | RawGroup[] | RawZonegroup;
  let groups: RawGroup[];
  if (Array.isArray(raw)) groups = raw;
  else if ('sync_policy' in raw && raw.sync_policy) groups = raw.sync_policy.groups ?? [];
  else if ('groups' in raw) groups = raw.groups ?? [];
  else if ('status' in raw && 'id' in raw) groups = [raw];
  else groups = [];
  return groups.map((g) => {
    const flows: [string, string][] = [];
    for (const d of g.data_flow?.directional ?? []) flows.push([d.source_zone, d.dest_zone]);
    for (const s of g.data_flow?.symmetrical ?? [])
      for (const a of s.zones) for (const b of s.zones) if (a !== b) flows.push([a, b]);
    return {
      id: g.id,
      status: g.status,
      flows,
      pipes: (g.pipes ?? []).map((p) => ({
        id: p.id,
        sourceZones: p.source?.zones ?? ['*'],
        destZones: p.dest?.zones ?? ['*'],
        sourceBucket: p.source?.bucket ?? '*',
        destBucket: p.dest?.bucket ?? '*',
        prefix: p.params?.source?.filter?.prefix ?? '',
        tags: Object.fromEntries((p.params?.source?.filter?.tags ?? []).map((t) => [t.key, t.value])),
      })),
    };
  });
}

const matches = (list: string[], value: string) => list.includes('*') || list.includes(value);

/** Whether the zonegroup policy lets `bucket` sync from zone `from` to zone `to`. */
export function policyAllows(groups: SyncGroup[], bucket: string, from: string, to: string): boolean {
  // No policy at all: multisite's default, every bucket syncs between every zone of the zonegroup.
  if (groups.length === 0) return true;
  if (groups.some((g) => g.status === 'forbidden' && g.flows.some(([a, b]) => a === from && b === to)))
    return false;
  return groups.some(
    (g) =>
      g.status === 'enabled' &&
      g.flows.some(([a, b]) => a === from && b === to) &&
      g.pipes.some(
        (p) =>
          matches(p.sourceZones, from) &&
          matches(p.destZones, to) &&
          (p.sourceBucket === '*' || p.sourceBucket === bucket) &&
          (p.destBucket === '*' || p.destBucket === bucket),
      ),
  );
}

/** The direction between the pair's zones that the policy gives `bucket`. */
export function policyDirection(
  groups: SyncGroup[],
  bucket: string,
  sourceZone: string,
  replicaZone: string,
): ReplicationDirection {
  const forward = policyAllows(groups, bucket, sourceZone, replicaZone);
  const backward = policyAllows(groups, bucket, replicaZone, sourceZone);
  if (forward && backward) return 'both';
  if (forward) return 'source-to-replica';
  if (backward) return 'replica-to-source';
  return 'none';
}

/** The policy as rule summaries, zone names mapped to region names (unknown zones keep their name). */
export function policyRules(
  groups: SyncGroup[],
  regionOfZone: Record<string, string>,
): ReplicationRuleSummary[] {
  const region = (zone: string) => regionOfZone[zone] ?? zone;
  if (groups.length === 0) {
    const zones = Object.keys(regionOfZone);
    return zones.flatMap((a) =>
      zones
        .filter((b) => b !== a)
        .map((b) => ({
          id: 'multisite-default',
          enabled: true,
          prefix: '',
          fromRegion: region(a),
          toRegion: region(b),
          deleteMarkerReplication: true,
        })),
    );
  }
  return groups.flatMap((g) =>
    g.flows.flatMap(([from, to]) =>
      g.pipes
        .filter((p) => matches(p.sourceZones, from) && matches(p.destZones, to))
        .map((p) => ({
          id: `${g.id}/${p.id}`,
          enabled: g.status === 'enabled',
          prefix: p.prefix,
          ...(Object.keys(p.tags).length > 0 ? { tags: p.tags } : {}),
          fromRegion: region(from),
          toRegion: region(to),
          deleteMarkerReplication: true,
        })),
    ),
  );
}

// --- argv of each operation -------------------------------------------------------------------

/** The sync group Lifeboat owns in the zonegroup's policy; other groups are left alone. */
export const LIFEBOAT_SYNC_GROUP = 'lifeboat';

/**
 * radosgw-admin argv (without the command itself) that make the zonegroup sync `direction` between
 * the two zones, run against the master zone (`masterZone`): the group is removed and created again
 * (a remove of a missing group succeeds), so the sequence is the same whatever the policy was, and
 * nothing takes effect before the final `period update --commit`.
 */
export function syncPolicyArgv(
  direction: Exclude<ReplicationDirection, 'none'>,
  sourceZone: string,
  replicaZone: string,
  masterZone: string,
  group = LIFEBOAT_SYNC_GROUP,
): string[][] {
  const z = `--rgw-zone=${masterZone}`;
  const g = `--group-id=${group}`;
  const flow: string[][] =
    direction === 'both'
      ? [
          [
            'sync',
            'group',
            'flow',
            'create',
            g,
            `--flow-id=${group}-flow`,
            '--flow-type=symmetrical',
            `--zones=${sourceZone},${replicaZone}`,
            z,
          ],
        ]
      : [
          [
            'sync',
            'group',
            'flow',
            'create',
            g,
            `--flow-id=${group}-flow`,
            '--flow-type=directional',
            `--source-zone=${direction === 'source-to-replica' ? sourceZone : replicaZone}`,
            `--dest-zone=${direction === 'source-to-replica' ? replicaZone : sourceZone}`,
            z,
          ],
        ];
  return [
    ['sync', 'group', 'remove', g, z],
    ['sync', 'group', 'create', g, '--status=enabled', z],
    ...flow,
    [
      'sync',
      'group',
      'pipe',
      'create',
      g,
      `--pipe-id=${group}-pipe`,
      '--source-zones=*',
      '--source-bucket=*',
      '--dest-zones=*',
      '--dest-bucket=*',
      z,
    ],
    ['period', 'update', '--commit', z],
  ];
}

/**
 * Ceph's disaster-recovery promotion of `zone` to master of its zonegroup. `--rgw-zone` on the commit
 * lets it succeed while the old master's gateway is down (the commit is then made locally instead of
 * being forwarded to the master).
 */
export function promoteArgv(zone: string, zonegroup: string): string[][] {
  return [
    ['zone', 'modify', `--rgw-zone=${zone}`, `--rgw-zonegroup=${zonegroup}`, '--master', '--default'],
    ['period', 'update', '--commit', `--rgw-zone=${zone}`],
  ];
}

/** Fetch the current period from the master's gateway (failback: on the old master, before it is promoted). */
export function periodPullArgv(url: string, accessKey: string, secret: string, zone: string): string[] {
  return [
    'period',
    'pull',
    `--url=${url}`,
    `--access-key=${accessKey}`,
    `--secret=${secret}`,
    `--rgw-zone=${zone}`,
  ];
}

/**
 * On `zone`, sync everything from `sourceZone` again from its logs' start (markers of buckets already
 * in incremental sync are kept, so nothing is copied twice): after `sourceZone` crashed, it visits the
 * bucket shards whose data-log entries the crash lost. Takes effect when `zone`'s gateway restarts.
 */
export const dataSyncInitArgv = (sourceZone: string, zone: string): string[] => [
  'data',
  'sync',
  'init',
  `--source-zone=${sourceZone}`,
  `--rgw-zone=${zone}`,
];

export const zonegroupGetArgv = (zonegroup: string, zone: string): string[] => [
  'zonegroup',
  'get',
  `--rgw-zonegroup=${zonegroup}`,
  `--rgw-zone=${zone}`,
];
export const periodGetArgv = (zone: string): string[] => ['period', 'get', `--rgw-zone=${zone}`];
export const syncPolicyGetArgv = (zonegroup: string, zone: string): string[] => [
  'sync',
  'policy',
  'get',
  `--rgw-zonegroup=${zonegroup}`,
  `--rgw-zone=${zone}`,
];
export const syncStatusArgv = (zone: string): string[] => ['sync', 'status', `--rgw-zone=${zone}`];
export const bucketSyncStatusArgv = (bucket: string, zone: string): string[] => [
  'bucket',
  'sync',
  'status',
  `--bucket=${bucket}`,
  `--rgw-zone=${zone}`,
];
