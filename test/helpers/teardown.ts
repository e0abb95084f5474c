// Closes the helpers' keep-alive sockets after each test file, so Jest can exit.
import { clients } from './s3';

afterAll(() => {
  for (const c of Object.values(clients)) c.destroy();
});
