// The documents stay true: the example configuration parses, and the published JSON Schemas are current.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMAS, schemaText } from '../../client/schemas';
import { parseConfig } from '../../worker/config';

const docs = join(__dirname, '../../docs');

it('docs/lifeboat.example.yaml is a valid configuration', () => {
  const file = join(docs, 'lifeboat.example.yaml');
  const config = parseConfig(readFileSync(file, 'utf8'), file);
  expect(Object.keys(config.regions)).toEqual(['us-east', 'eu-west', 'ceph-lab']);
  expect(config.protectedBuckets.documents.replica).toEqual({
    region: 'eu-west',
    bucket: 'acme-documents-replica',
  });
});

it.each(Object.keys(SCHEMAS))(
  'docs/schemas/%s.schema.json matches the schema in core/ (npm run docs:schemas)',
  (name) => {
    const committed = readFileSync(join(docs, 'schemas', `${name}.schema.json`), 'utf8');
    expect(JSON.parse(committed)).toEqual(JSON.parse(schemaText(SCHEMAS[name])));
  },
);
