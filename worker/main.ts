// `npm run worker` / `lifeboat worker`: runs the Lifeboat worker until SIGINT or SIGTERM.
import { loadConfig } from './config';
import { createWorker } from './worker';

export async function runWorker(configPath?: string): Promise<void> {
  const config = loadConfig(configPath);
  const worker = await createWorker(config);
  console.error(
    `lifeboat worker: task queue "${config.temporal.taskQueue}" on ${config.temporal.address} (namespace ${config.temporal.namespace}); regions: ${Object.keys(config.regions).join(', ')}`,
  );
  // The SDK's runtime turns SIGINT/SIGTERM into a graceful shutdown; run() resolves when it is done.
  await worker.run();
  console.error('lifeboat worker: stopped');
}

if (require.main === module) {
  runWorker(process.argv[2] === '--config' ? process.argv[3] : undefined).catch((err: Error) => {
    console.error(`lifeboat worker: ${err.message}`);
    process.exit(1);
  });
}
