// Copies the browser assets the bank serves from npm packages into dist/,
// which the Go binary embeds: GraphiQL and React for /graphiql, the
// graphql-ws client for the frontend. Nothing is fetched at run time.
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, 'node_modules');
const dist = join(here, 'dist');

const files = {
  'graphiql/graphiql.min.js': 'graphiql/dist/index.umd.js',
  'graphiql/graphiql.min.css': 'graphiql/dist/style.css',
  'graphiql/react.production.min.js': 'react/umd/react.production.min.js',
  'graphiql/react-dom.production.min.js': 'react-dom/umd/react-dom.production.min.js',
};

rmSync(join(dist, 'graphiql'), { recursive: true, force: true });
for (const [to, from] of Object.entries(files)) {
  mkdirSync(dirname(join(dist, to)), { recursive: true });
  cpSync(join(modules, from), join(dist, to));
}
writeFileSync(join(dist, 'graphiql', 'BUILT'), 'built by web/build.mjs from npm packages\n');

// The frontend, served on / by the gateway (or by any static server).
rmSync(join(dist, 'app'), { recursive: true, force: true });
cpSync(join(here, 'static'), join(dist, 'app'), { recursive: true });
console.log(`web: ${Object.keys(files).length} files in ${dist}`);
