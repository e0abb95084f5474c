// The configuration file's schema, through parseInput: a full config, defaults, cross-references, no inline secrets.
import { LifeboatConfig } from '../../core/config';
import { parseInput } from '../../core/validate';

const parse = (input: unknown) => parseInput(LifeboatConfig, input, 'config');

function valid(input: unknown): LifeboatConfig {
  const r = parse(input);
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

const full = {
  temporal: {
    address: 'lifeboat.a1b2c.tmprl.cloud:7233',
    namespace: 'lifeboat.a1b2c',
    taskQueue: 'dr',
    lockTaskQueue: 'dr-locks',
    webUi: 'https://cloud.temporal.io/namespaces/lifeboat.a1b2c',
    apiKeyVar: 'TEMPORAL_API_KEY',
    tls: {
      clientCertPath: '/etc/lifeboat/client.pem',
      clientKeyPath: '/etc/lifeboat/client.key',
      serverRootCaPath: '/etc/lifeboat/ca.pem',
      serverName: 'lifeboat.a1b2c.tmprl.cloud',
    },
  },
  regions: {
    primary: { region: 'eu-west-1', credentials: { source: 'default' } },
    dr: { region: 'eu-central-1', credentials: { source: 'profile', profile: 'lifeboat-dr' } },
    ops: {
      region: 'us-east-1',
      credentials: {
        source: 'environment',
        accessKeyIdVar: 'OPS_KEY_ID',
        secretAccessKeyVar: 'OPS_SECRET',
        sessionTokenVar: 'OPS_TOKEN',
      },
    },
    lab: {
      endpoint: 'http://127.0.0.1:8080',
      region: 'default',
      forcePathStyle: true,
      platform: 'ceph',
      credentials: { source: 'local-stack' },
    },
  },
  webhook: { secretVar: 'LIFEBOAT_WEBHOOK_SECRET' },
  protectedBuckets: {
    invoices: {
      region: 'primary',
      bucket: 'acme-invoices',
      replica: { region: 'dr', bucket: 'acme-invoices-dr' },
      objectives: { rtoMinutes: 30, rpoMinutes: 15 },
    },
    labdata: { region: 'lab', bucket: 'lab.data-1' },
  },
};

describe('LifeboatConfig: a full valid config', () => {
  it('parses every section, keeping what was given', () => {
    const cfg = valid(full);
    expect(cfg.temporal).toEqual(full.temporal);
    expect(cfg.regions.primary).toEqual({
      region: 'eu-west-1',
      forcePathStyle: false,
      platform: 'aws',
      credentials: { source: 'default' },
    });
    expect(cfg.regions.dr.credentials).toEqual({ source: 'profile', profile: 'lifeboat-dr' });
    expect(cfg.regions.ops.credentials).toEqual({
      source: 'environment',
      accessKeyIdVar: 'OPS_KEY_ID',
      secretAccessKeyVar: 'OPS_SECRET',
      sessionTokenVar: 'OPS_TOKEN',
    });
    expect(cfg.regions.lab).toEqual({
      endpoint: 'http://127.0.0.1:8080',
      region: 'default',
      forcePathStyle: true,
      platform: 'ceph',
      credentials: { source: 'local-stack' },
    });
    expect(cfg.protectedBuckets).toEqual(full.protectedBuckets);
  });

  it('environment credentials default the variable names', () => {
    const cfg = valid({
      regions: { primary: { region: 'us-east-1', credentials: { source: 'environment' } } },
    });
    expect(cfg.regions.primary.credentials).toEqual({
      source: 'environment',
      accessKeyIdVar: 'AWS_ACCESS_KEY_ID',
      secretAccessKeyVar: 'AWS_SECRET_ACCESS_KEY',
    });
  });

  it('objectives accept an RPO of zero', () => {
    const cfg = valid({
      regions: { primary: { region: 'us-east-1' } },
      protectedBuckets: {
        a: { region: 'primary', bucket: 'abc', objectives: { rtoMinutes: 5, rpoMinutes: 0 } },
      },
    });
    expect(cfg.protectedBuckets.a.objectives).toEqual({ rtoMinutes: 5, rpoMinutes: 0 });
  });
});

describe('LifeboatConfig: defaults', () => {
  it('fills in temporal, region and protectedBuckets defaults for a minimal config', () => {
    expect(valid({ regions: { primary: { region: 'us-east-1' } } })).toEqual({
      temporal: {
        address: '127.0.0.1:7233',
        namespace: 'default',
        taskQueue: 'lifeboat',
        lockTaskQueue: 'lifeboat-locks',
      },
      regions: {
        primary: {
          region: 'us-east-1',
          forcePathStyle: false,
          credentials: { source: 'default' },
          platform: 'aws',
        },
      },
      protectedBuckets: {},
    });
  });

  it('fills in the temporal defaults inside a partial temporal section', () => {
    const cfg = valid({ temporal: { namespace: 'prod' }, regions: { primary: { region: 'us-east-1' } } });
    expect(cfg.temporal).toEqual({
      address: '127.0.0.1:7233',
      namespace: 'prod',
      taskQueue: 'lifeboat',
      lockTaskQueue: 'lifeboat-locks',
    });
  });
});

describe('LifeboatConfig: rejections name the field', () => {
  it.each<[string, unknown, string]>([
    [
      'a protected bucket in an undefined region',
      {
        regions: { primary: { region: 'us-east-1' } },
        protectedBuckets: { invoices: { region: 'dr', bucket: 'abc' } },
      },
      'protectedBuckets.invoices.region',
    ],
    [
      'a replica in an undefined region',
      {
        regions: { primary: { region: 'us-east-1' } },
        protectedBuckets: {
          invoices: { region: 'primary', bucket: 'abc', replica: { region: 'dr', bucket: 'abc-dr' } },
        },
      },
      'protectedBuckets.invoices.replica.region',
    ],
    [
      'accessKeyId inline in environment credentials',
      {
        regions: {
          primary: {
            region: 'us-east-1',
            credentials: { source: 'environment', accessKeyId: 'AKIAEXAMPLE' },
          },
        },
      },
      'regions.primary.credentials',
    ],
    [
      'secretAccessKey inline in default credentials',
      {
        regions: {
          primary: { region: 'us-east-1', credentials: { source: 'default', secretAccessKey: 's3cr3t' } },
        },
      },
      'regions.primary.credentials',
    ],
    [
      'sessionToken inline in profile credentials',
      {
        regions: {
          primary: {
            region: 'us-east-1',
            credentials: { source: 'profile', profile: 'p', sessionToken: 't' },
          },
        },
      },
      'regions.primary.credentials',
    ],
    [
      'accessKeyId directly in the region profile',
      { regions: { primary: { region: 'us-east-1', accessKeyId: 'AKIAEXAMPLE' } } },
      'regions.primary',
    ],
    [
      'an unknown credentials source',
      { regions: { primary: { region: 'us-east-1', credentials: { source: 'vault' } } } },
      'regions.primary.credentials.source',
    ],
    [
      'a profile source without a profile name',
      { regions: { primary: { region: 'us-east-1', credentials: { source: 'profile' } } } },
      'regions.primary.credentials.profile',
    ],
    ['no regions', { regions: {} }, 'regions'],
    ['a region name with a space', { regions: { 'bad name': { region: 'us-east-1' } } }, 'regions.bad name'],
    [
      'an endpoint that is not a URL',
      { regions: { primary: { region: 'us-east-1', endpoint: 'localhost' } } },
      'regions.primary.endpoint',
    ],
    [
      'an unknown platform',
      { regions: { primary: { region: 'us-east-1', platform: 'gcs' } } },
      'regions.primary.platform',
    ],
    [
      'a bad bucket name',
      {
        regions: { primary: { region: 'us-east-1' } },
        protectedBuckets: { a: { region: 'primary', bucket: 'Bad_Bucket' } },
      },
      'protectedBuckets.a.bucket',
    ],
    [
      'an RTO of zero',
      {
        regions: { primary: { region: 'us-east-1' } },
        protectedBuckets: {
          a: { region: 'primary', bucket: 'abc', objectives: { rtoMinutes: 0, rpoMinutes: 0 } },
        },
      },
      'protectedBuckets.a.objectives.rtoMinutes',
    ],
    [
      'tls without a client key',
      { temporal: { tls: { clientCertPath: '/c.pem' } }, regions: { primary: { region: 'us-east-1' } } },
      'temporal.tls.clientKeyPath',
    ],
    [
      'an unknown temporal setting',
      { temporal: { apiKey: 'inline-secret' }, regions: { primary: { region: 'us-east-1' } } },
      'temporal',
    ],
    ['an unknown top-level section', { regions: { primary: { region: 'us-east-1' } }, extra: {} }, '(input)'],
  ])('rejects %s (%s)', (_name, input, field) => {
    const r = parse(input);
    expect(r).toMatchObject({ ok: false, field });
    if (!r.ok) expect(r.message).toContain(`invalid config input: field "${field}"`);
  });

  it('the undefined-region message names the region', () => {
    const r = parse({
      regions: { primary: { region: 'us-east-1' } },
      protectedBuckets: { a: { region: 'dr', bucket: 'abc' } },
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain('region "dr" is not defined under regions');
  });

  it('the strict-credentials message names the inline secret', () => {
    const r = parse({
      regions: {
        primary: { region: 'us-east-1', credentials: { source: 'environment', accessKeyId: 'AKIA' } },
      },
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain('accessKeyId');
  });

  it('a ceph block takes key variable names, never the keys themselves', () => {
    const ceph = {
      zone: 'a',
      zonegroup: 'lab',
      restartCommand: ['systemctl', 'restart', 'ceph-radosgw@rgw.a'],
    };
    expect(
      valid({ regions: { lab: { region: 'default', platform: 'ceph', ceph } } }).regions.lab.ceph,
    ).toEqual(ceph);
    const r = parse({
      regions: { lab: { region: 'default', platform: 'ceph', ceph: { ...ceph, systemSecretKey: 'x' } } },
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain('systemSecretKey');
  });

  // Region names like "toString" are Object.prototype members: the cross-check must look at own keys only.
  it.each<[string, unknown, string]>([
    [
      'region "toString"',
      {
        regions: { primary: { region: 'us-east-1' } },
        protectedBuckets: { a: { region: 'toString', bucket: 'abc' } },
      },
      'protectedBuckets.a.region',
    ],
    [
      'replica region "constructor"',
      {
        regions: { primary: { region: 'us-east-1' } },
        protectedBuckets: {
          a: { region: 'primary', bucket: 'abc', replica: { region: 'constructor', bucket: 'def' } },
        },
      },
      'protectedBuckets.a.replica.region',
    ],
  ])('rejects an undefined %s that is an Object.prototype member', (_name, input, field) => {
    expect(parse(input)).toMatchObject({ ok: false, field });
  });
});
