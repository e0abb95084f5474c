// Parsers of radosgw-admin outputs (real outputs captured on the local stack, Ceph 16.2.15) and the argv builders.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  dataSyncInitArgv,
  parseBucketSyncStatus,
  parsePeriod,
  parseSyncPolicy,
  parseSyncStatus,
  parseZonegroup,
  periodPullArgv,
  policyDirection,
  policyRules,
  promoteArgv,
  sourceLag,
  syncPolicyArgv,
  type SyncGroup,
} from '../../core/ceph-sync';

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures/ceph', name), 'utf8');
const PRIMARY_ID = '727b508c-6289-4cba-90db-46c93ce50e5c';
const SECONDARY_ID = 'b0472cc5-b893-46ec-a7f5-b2c8b6a65507';

describe('parseSyncStatus', () => {
  it.each([
    {
      file: 'sync-status-secondary-caught-up.txt',
      zone: 'secondary',
      master: false,
      source: { zoneId: PRIMARY_ID, zoneName: 'primary', state: 'syncing', caughtUp: true, behindShards: [] },
    },
    {
      file: 'sync-status-secondary-behind.txt',
      zone: 'secondary',
      master: false,
      source: {
        zoneName: 'primary',
        state: 'syncing',
        caughtUp: false,
        behindShards: [2],
        oldestChange: '2026-11-26T16:25:39.183810+0000',
      },
    },
    {
      file: 'sync-status-primary-master.txt',
      zone: 'primary',
      master: true,
      // Captured with no policy (both ways) while the secondary's own log still had entries to read.
      source: {
        zoneId: SECONDARY_ID,
        zoneName: 'secondary',
        caughtUp: false,
        behindShards: [0, 3, 4, 5],
        fullSyncShards: 0,
        oldestChange: '2026-11-26T16:25:21.075482+0000',
      },
    },
    {
      file: 'sync-status-primary-directional.txt',
      zone: 'primary',
      master: true,
      source: { zoneName: 'secondary', state: 'not syncing from zone', caughtUp: false },
    },
  ])('$file', ({ file, zone, master, source }) => {
    const s = parseSyncStatus(fixture(file));
    expect(s.zoneName).toBe(zone);
    expect(s.metadataMaster).toBe(master);
    expect(s.metadataCaughtUp).toBe(true);
    expect(s.sources).toHaveLength(1);
    expect(s.sources[0]).toMatchObject(source);
  });

  it('the promoted secondary while the primary gateway is down (sync-status-secondary-master-primary-down.txt)', () => {
    const s = parseSyncStatus(fixture('sync-status-secondary-master-primary-down.txt'));
    expect(s).toMatchObject({ zoneName: 'secondary', metadataMaster: true });
    expect(s.sources[0]).toMatchObject({
      zoneName: 'primary',
      caughtUp: false,
      error: 'failed to retrieve sync info: (5) Input/output error',
    });
    expect(sourceLag(s, 'primary', new Date())).toMatchObject({ caughtUp: false, lagSeconds: null });
  });

  it('reads a source that cannot be reached, a full sync and several sources', () => {
    const text = `          realm r (lifeboat)
      zonegroup g (lab)
           zone z1 (secondary)
  metadata sync syncing
                full sync: 0/8 shards
                incremental sync: 8/8 shards
                metadata is behind on 2 shards
      data sync source: z0 (primary)
                        failed to retrieve sync info: (5) Input/output error
      data sync source: z2 (third)
                        preparing for full sync
                        full sync: 3/8 shards
                        full sync: 120 buckets to sync
                        incremental sync: 5/8 shards
                        data is behind on 3 shards
                        behind shards: [0,4,7]
`;
    const s = parseSyncStatus(text);
    expect(s.metadataCaughtUp).toBe(false);
    expect(s.sources[0]).toMatchObject({
      zoneName: 'primary',
      caughtUp: false,
      error: expect.stringContaining('Input/output'),
    });
    expect(s.sources[1]).toMatchObject({
      zoneName: 'third',
      state: 'preparing for full sync',
      fullSyncShards: 3,
      behindShards: [0, 4, 7],
    });
  });
});

describe('sourceLag', () => {
  const now = new Date('2026-11-26T16:26:09.183Z');
  it.each([
    [
      'sync-status-secondary-caught-up.txt',
      'primary',
      { caughtUp: true, lagSeconds: 0, behindShards: 0, remark: null },
    ],
    ['sync-status-secondary-behind.txt', 'primary', { caughtUp: false, lagSeconds: 30, behindShards: 1 }],
    [
      'sync-status-primary-directional.txt',
      'secondary',
      { caughtUp: false, lagSeconds: null, remark: 'zone primary is not syncing from secondary' },
    ],
    ['sync-status-secondary-caught-up.txt', 'elsewhere', { caughtUp: false, lagSeconds: null }],
  ])('%s from %s', (file, source, expected) => {
    expect(sourceLag(parseSyncStatus(fixture(file)), source, now)).toMatchObject(expected);
  });
});

describe('parseBucketSyncStatus', () => {
  it('caught up', () => {
    expect(parseBucketSyncStatus(fixture('bucket-sync-status-caught-up.txt'))).toEqual({
      bucket: 'exp1',
      zoneName: 'secondary',
      noSources: false,
      sources: [
        {
          zoneId: PRIMARY_ID,
          zoneName: 'primary',
          state: 'syncing',
          caughtUp: true,
          behindShards: [],
          fullSyncShards: 0,
          oldestChange: null,
          error: null,
        },
      ],
    });
  });
  it('no sources (the zone does not sync this bucket from anywhere)', () => {
    const b = parseBucketSyncStatus(fixture('bucket-sync-status-primary-not-source.txt'));
    expect(b).toMatchObject({ bucket: 'exp1', zoneName: 'primary', noSources: true, sources: [] });
  });
  it('behind (format of rgw_admin.cc)', () => {
    const b = parseBucketSyncStatus(`         bucket :b1[x.1])

    source zone z0 (primary)
  source bucket b1:x.1
                full sync: 0/11 shards
                incremental sync: 11/11 shards
                bucket is behind on 2 shards
                behind shards: [3,9]
`);
    expect(b.sources[0]).toMatchObject({ zoneName: 'primary', caughtUp: false, behindShards: [3, 9] });
  });
});

describe('zonegroup and period', () => {
  it('zonegroup get: the master zone by name, and each zone endpoint', () => {
    const zg = parseZonegroup(fixture('zonegroup-get-primary-master.json'));
    expect(zg).toMatchObject({ name: 'lab', masterZoneId: PRIMARY_ID, masterZone: 'primary' });
    expect(zg.zones.map((z) => [z.name, z.endpoints])).toEqual([
      ['primary', ['http://127.0.0.1:7580']],
      ['secondary', ['http://127.0.0.1:7581']],
    ]);
  });
  it.each([
    ['period-get.json', 2, 2],
    ['period-commit.json', 3, 2],
  ])('%s: id, epochs and the zonegroup in the period map', (file, epoch, realmEpoch) => {
    const p = parsePeriod(fixture(file));
    expect(p).toMatchObject({ epoch, realmEpoch, masterZoneId: PRIMARY_ID });
    expect(p.zonegroups[0]).toMatchObject({ name: 'lab', masterZone: 'primary' });
  });
});

describe('sync policy', () => {
  const directional = parseSyncPolicy(fixture('sync-policy-get-directional.json'));
  const symmetric: SyncGroup[] = [
    {
      id: 'lifeboat',
      status: 'enabled',
      flows: [
        ['primary', 'secondary'],
        ['secondary', 'primary'],
      ],
      pipes: [
        {
          id: 'p',
          sourceZones: ['*'],
          destZones: ['*'],
          sourceBucket: '*',
          destBucket: '*',
          prefix: '',
          tags: {},
        },
      ],
    },
  ];

  it('sync policy get and sync group get say the same', () => {
    expect(parseSyncPolicy(fixture('sync-group-get-directional.json'))).toEqual(directional);
    expect(directional).toEqual([
      {
        id: 'lifeboat',
        status: 'enabled',
        flows: [['primary', 'secondary']],
        pipes: [
          {
            id: 'lifeboat-pipe',
            sourceZones: ['*'],
            destZones: ['*'],
            sourceBucket: '*',
            destBucket: '*',
            prefix: '',
            tags: {},
          },
        ],
      },
    ]);
  });

  it('the symmetrical policy Lifeboat sets for reverse (sync-policy-get-symmetrical.json)', () => {
    const groups = parseSyncPolicy(fixture('sync-policy-get-symmetrical.json'));
    expect(groups[0].flows).toEqual(symmetric[0].flows);
    expect(policyDirection(groups, 'b', 'primary', 'secondary')).toBe('both');
  });

  it('zonegroup get after promoting the secondary', () => {
    expect(parseZonegroup(fixture('zonegroup-get-secondary-master.json'))).toMatchObject({
      masterZoneId: SECONDARY_ID,
      masterZone: 'secondary',
    });
  });

  it('a symmetrical flow expands to both zone pairs', () => {
    const groups = parseSyncPolicy(
      JSON.stringify({
        groups: [
          {
            id: 'g',
            status: 'enabled',
            data_flow: { symmetrical: [{ id: 'f', zones: ['primary', 'secondary'] }] },
            pipes: [{ id: 'p', source: { bucket: '*', zones: ['*'] }, dest: { bucket: '*', zones: ['*'] } }],
          },
        ],
      }),
    );
    expect(groups[0].flows).toEqual(symmetric[0].flows);
  });

  it.each([
    ['no policy (multisite default)', [] as SyncGroup[], 'primary', 'secondary', 'both'],
    ['directional primary -> secondary', directional, 'primary', 'secondary', 'source-to-replica'],
    [
      'the same policy seen from a pair the other way round',
      directional,
      'secondary',
      'primary',
      'replica-to-source',
    ],
    ['symmetrical', symmetric, 'primary', 'secondary', 'both'],
    ['group only allowed', [{ ...directional[0], status: 'allowed' }], 'primary', 'secondary', 'none'],
    [
      'pipe limited to another bucket',
      [
        {
          ...directional[0],
          pipes: [{ ...directional[0].pipes[0], sourceBucket: 'other', destBucket: 'other' }],
        },
      ],
      'primary',
      'secondary',
      'none',
    ],
    [
      'forbidden group wins',
      [...symmetric, { ...directional[0], id: 'stop', status: 'forbidden' }],
      'primary',
      'secondary',
      'replica-to-source',
    ],
  ])('direction: %s', (_, groups, source, replica, expected) => {
    expect(policyDirection(groups, 'b', source, replica)).toBe(expected);
  });

  it('rules name regions, not zones', () => {
    expect(policyRules(directional, { primary: 'eu', secondary: 'dr' })).toEqual([
      {
        id: 'lifeboat/lifeboat-pipe',
        enabled: true,
        prefix: '',
        fromRegion: 'eu',
        toRegion: 'dr',
        deleteMarkerReplication: true,
      },
    ]);
    expect(
      policyRules([], { primary: 'eu', secondary: 'dr' }).map((r) => `${r.fromRegion}>${r.toRegion}`),
    ).toEqual(['eu>dr', 'dr>eu']);
  });
});

describe('argv builders', () => {
  it('one-way policy: remove, create enabled, directional flow, pipe, commit, all on the master zone', () => {
    expect(syncPolicyArgv('source-to-replica', 'primary', 'secondary', 'primary')).toEqual([
      ['sync', 'group', 'remove', '--group-id=lifeboat', '--rgw-zone=primary'],
      ['sync', 'group', 'create', '--group-id=lifeboat', '--status=enabled', '--rgw-zone=primary'],
      [
        'sync',
        'group',
        'flow',
        'create',
        '--group-id=lifeboat',
        '--flow-id=lifeboat-flow',
        '--flow-type=directional',
        '--source-zone=primary',
        '--dest-zone=secondary',
        '--rgw-zone=primary',
      ],
      [
        'sync',
        'group',
        'pipe',
        'create',
        '--group-id=lifeboat',
        '--pipe-id=lifeboat-pipe',
        '--source-zones=*',
        '--source-bucket=*',
        '--dest-zones=*',
        '--dest-bucket=*',
        '--rgw-zone=primary',
      ],
      ['period', 'update', '--commit', '--rgw-zone=primary'],
    ]);
  });

  it('reversed one-way and both ways differ only in the flow; the master zone is where it runs', () => {
    const reversed = syncPolicyArgv('replica-to-source', 'primary', 'secondary', 'secondary');
    expect(reversed[2]).toEqual(
      expect.arrayContaining(['--flow-type=directional', '--source-zone=secondary', '--dest-zone=primary']),
    );
    expect(reversed.every((a) => a[a.length - 1] === '--rgw-zone=secondary')).toBe(true);
    const both = syncPolicyArgv('both', 'primary', 'secondary', 'primary');
    expect(both[2]).toEqual(expect.arrayContaining(['--flow-type=symmetrical', '--zones=primary,secondary']));
    expect(both).toHaveLength(5);
  });

  it('promotion: master and default, then a commit on the promoted zone', () => {
    expect(promoteArgv('secondary', 'lab')).toEqual([
      ['zone', 'modify', '--rgw-zone=secondary', '--rgw-zonegroup=lab', '--master', '--default'],
      ['period', 'update', '--commit', '--rgw-zone=secondary'],
    ]);
  });

  it('data sync init on the surviving zone, from the zone that crashed', () => {
    expect(dataSyncInitArgv('primary', 'secondary')).toEqual([
      'data',
      'sync',
      'init',
      '--source-zone=primary',
      '--rgw-zone=secondary',
    ]);
  });

  it('period pull from the master gateway with the system keys', () => {
    expect(periodPullArgv('http://m:80', 'K', 'S', 'primary')).toEqual([
      'period',
      'pull',
      '--url=http://m:80',
      '--access-key=K',
      '--secret=S',
      '--rgw-zone=primary',
    ]);
  });
});
