// Builds the browser assets into dist/, which the Go binary embeds:
// GraphiQL and React for /graphiql copied from npm packages, and the
// frontend (src/, with the graphql-ws client) bundled by esbuild into
// dist/app. Nothing is fetched at run time.
//
// OPENBANK_API=https://bank.example/graphql points a frontend served by
// another static server (nginx, say) at the gateway; empty, it talks to
// /graphql of the server it came from.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
// GraphiQL subscribes over websockets with graphql-ws (src/graphiql-ws.js).
const ws = await build({
  entryPoints: [join(here, 'src', 'graphiql-ws.js')],
  bundle: true,
  format: 'iife',
  target: ['es2020'],
  minify: true,
  write: false,
  logLevel: 'warning',
});
writeFileSync(join(dist, 'graphiql', 'graphiql.min.js'),
  `${readFileSync(join(dist, 'graphiql', 'graphiql.min.js'), 'utf8')}\n${ws.outputFiles[0].text}`);
writeFileSync(join(dist, 'graphiql', 'BUILT'), 'built by web/build.mjs from npm packages\n');

// The frontend, served on / by the gateway (or by any static server).
const app = join(dist, 'app');
const src = join(here, 'src');
rmSync(app, { recursive: true, force: true });
mkdirSync(app, { recursive: true });
await build({
  entryPoints: [join(src, 'main.js')],
  outfile: join(app, 'app.js'),
  bundle: true,
  format: 'esm',
  target: ['es2020'],
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
const api = (process.env.OPENBANK_API ?? '').replace(/[<>"&]/g, '');
writeFileSync(join(app, 'index.html'), readFileSync(join(src, 'index.html'), 'utf8').replace('%OPENBANK_API%', api));
cpSync(join(src, 'style.css'), join(app, 'style.css'));
console.log(`web: GraphiQL assets and the frontend in ${dist}`);
