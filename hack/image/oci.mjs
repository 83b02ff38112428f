// Writes the operator image as an OCI image layout, an OCI archive of it, an SPDX SBOM and a
// package list, from two prepared directories: the root filesystem (hack/image/rootfs.sh) and
// the application layer (hack/image/app.sh, under app/). Called by hack/image/build.sh.
//
// Reproducible: every layer is a tar of its files sorted by name, owned by 0:0, dated
// SOURCE_DATE_EPOCH, compressed with `gzip -n`; the config's dates are the same epoch. The
// image config (user, working directory, environment, entrypoint, labels, ports) is read from
// the Dockerfile's final stage, whose two COPY instructions must be the two layers built here:
// `docker build` and `make image` cannot drift apart silently.
//
//   node hack/image/oci.mjs --rootfs DIR --app DIR --out DIR --name NAME --tag TAG
//        --dockerfile FILE --lock FILE [--epoch SECONDS]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    rootfs: { type: 'string' },
    app: { type: 'string' },
    out: { type: 'string' },
    name: { type: 'string' },
    tag: { type: 'string' },
    dockerfile: { type: 'string' },
    lock: { type: 'string' },
    epoch: { type: 'string', default: '0' },
  },
});
for (const k of ['rootfs', 'app', 'out', 'name', 'tag', 'dockerfile', 'lock']) {
  if (!opt[k]) fail(`--${k} is required`);
}
const epoch = Number(opt.epoch);
if (!Number.isInteger(epoch) || epoch < 0) fail(`--epoch must be whole seconds, got ${opt.epoch}`);
const created = new Date(epoch * 1000).toISOString().replace(/\.000Z$/, 'Z');

/** The two COPY instructions of the Dockerfile's final stage, in the order of the layers. */
const LAYERS = [
  { copy: 'COPY --from=rootfs /rootfs/ /', dir: opt.rootfs, what: 'hack/image/rootfs.sh' },
  { copy: 'COPY --from=app /out/app/ /app/', dir: opt.app, what: 'hack/image/app.sh' },
];
/** What BuildKit puts in the config of a stage without PATH (a FROM scratch stage). */
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function fail(msg) {
  console.error(`oci: ${msg}`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
}

function sha256File(path) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

// ---- The Dockerfile's final stage ---------------------------------------------------------

/** Instructions after the last FROM: [keyword, rest], continuation lines joined. */
function finalStage(text) {
  const logical = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (cur === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      cur += line.slice(0, -1) + ' ';
      continue;
    }
    logical.push((cur + line).trim());
    cur = '';
  }
  const steps = logical.map((l) => {
    const m = /^(\S+)\s*(.*)$/.exec(l);
    return [m[1].toUpperCase(), m[2]];
  });
  const from = steps.map((s) => s[0]).lastIndexOf('FROM');
  if (from < 0) fail('the Dockerfile has no FROM');
  if (!/^scratch(\s+AS\s+\S+)?$/i.test(steps[from][1])) {
    fail(`the Dockerfile's final stage must be FROM scratch, it is FROM ${steps[from][1]}`);
  }
  return steps.slice(from + 1);
}

/** `k=v k2="v 2"` pairs, as ENV and LABEL write them. */
function pairs(text) {
  const out = [];
  const re = /\s*([^=\s]+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/y;
  const s = text.trimEnd();
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) fail(`cannot read "${text}"`);
    out.push([m[1], m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]]);
    pos = re.lastIndex;
  }
  if (out.length === 0) fail(`cannot read "${text}"`);
  return out;
}

function jsonArray(keyword, text) {
  try {
    const v = JSON.parse(text);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    // fall through
  }
  return fail(`${keyword} must be a JSON array of strings (exec form), got ${text}`);
}

/** What each instruction of the final stage does to the image config. */
const INSTRUCTIONS = {
  LABEL: (config, rest) => {
    for (const [k, v] of pairs(rest)) config.Labels[k] = v;
  },
  ENV: (config, rest) => {
    for (const [k, v] of pairs(rest)) {
      config.Env = config.Env.filter((e) => !e.startsWith(`${k}=`)).concat(`${k}=${v}`);
    }
  },
  USER: (config, rest) => {
    config.User = rest;
  },
  WORKDIR: (config, rest) => {
    config.WorkingDir = rest;
  },
  EXPOSE: (config, rest) => {
    config.ExposedPorts = Object.fromEntries(
      rest.split(/\s+/).map((p) => [p.includes('/') ? p : `${p}/tcp`, {}]),
    );
  },
  ENTRYPOINT: (config, rest) => {
    config.Entrypoint = jsonArray('ENTRYPOINT', rest);
  },
  CMD: (config, rest) => {
    config.Cmd = jsonArray('CMD', rest);
  },
};

function imageConfig(steps) {
  const config = { Env: [DEFAULT_PATH], Labels: {} };
  const copies = [];
  const history = [];
  for (const [kw, rest] of steps) {
    history.push(`${kw} ${rest}`);
    if (kw === 'COPY') copies.push(`COPY ${rest}`);
    else if (kw in INSTRUCTIONS) INSTRUCTIONS[kw](config, rest);
    else fail(`make image does not know what ${kw} in the Dockerfile's final stage does`);
  }
  const want = LAYERS.map((l) => l.copy);
  if (JSON.stringify(copies) !== JSON.stringify(want)) {
    fail(
      `the Dockerfile's final stage copies ${JSON.stringify(copies)}; make image builds ${JSON.stringify(want)}`,
    );
  }
  return { config, history };
}

// ---- Layers -------------------------------------------------------------------------------

/** Every path under dir, relative, sorted by code unit (= byte order for these ASCII names). */
function listTree(dir, prefix = '') {
  const out = [];
  for (const name of readdirSync(join(dir, prefix)).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    out.push(rel);
    const st = lstatSync(join(dir, rel));
    if (st.isDirectory()) out.push(...listTree(dir, rel));
  }
  return out;
}

async function buildLayer(dir, work, i) {
  const list = join(work, `layer${i}.list`);
  const tar = join(work, `layer${i}.tar`);
  const gz = join(work, `layer${i}.tar.gz`);
  const entries = listTree(dir);
  writeFileSync(list, entries.map((e) => `${e}\0`).join(''));
  run('tar', [
    '--create',
    `--file=${tar}`,
    `--directory=${dir}`,
    '--no-recursion',
    '--null',
    '--verbatim-files-from',
    `--files-from=${list}`,
    '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    `--mtime=@${epoch}`,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
  ]);
  const fd = openSync(gz, 'w');
  run('gzip', ['-n', '-6', '-c', tar], { stdio: ['ignore', fd, 'inherit'] });
  closeSync(fd);
  const [diffID, digest] = await Promise.all([sha256File(tar), sha256File(gz)]);
  const layer = {
    diffID: `sha256:${diffID}`,
    digest: `sha256:${digest}`,
    size: statSync(gz).size,
    unpacked: statSync(tar).size,
    files: entries.length,
    path: gz,
  };
  rmSync(tar);
  return layer;
}

// ---- SBOM ---------------------------------------------------------------------------------

function debianPackages(rootfs, lock) {
  const pins = new Map(
    lock
      .split('\n')
      .filter((l) => l.startsWith('deb '))
      .map((l) => l.split(/\s+/))
      .map(([, name, arch, version, sha]) => [name, { arch, version, sha }]),
  );
  const dir = join(rootfs, 'var/lib/dpkg/status.d');
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const fields = Object.fromEntries(
        readFileSync(join(dir, name), 'utf8')
          .split('\n')
          .filter((l) => /^[A-Za-z-]+: /.test(l))
          .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
      );
      const pin = pins.get(name);
      if (!pin || pin.version !== fields.Version)
        fail(`${name} in the image is not the pinned one`);
      return {
        kind: 'deb',
        name,
        version: fields.Version,
        purl: `pkg:deb/debian/${name}@${encodeURIComponent(fields.Version)}?arch=${fields.Architecture}&distro=debian-12`,
        checksum: { algorithm: 'SHA256', checksumValue: pin.sha },
        license: 'NOASSERTION',
        homepage: fields.Homepage,
      };
    });
}

/** A package.json `license` when it is an SPDX expression, else NOASSERTION. */
function spdxLicense(license) {
  const ok =
    typeof license === 'string' &&
    /^[()A-Za-z0-9.+ -]+$/.test(license) &&
    !/\b(SEE|UNLICENSED)\b/.test(license);
  return ok ? license : 'NOASSERTION';
}

function npmPackages(app, lock) {
  const [, name, version, integrity] = lock
    .split('\n')
    .find((l) => l.startsWith('npm '))
    .split(/\s+/);
  const node = {
    kind: 'npm',
    name,
    version,
    purl: `pkg:npm/${name}@${version}`,
    checksum: {
      algorithm: 'SHA512',
      checksumValue: Buffer.from(integrity.replace(/^sha512-/, ''), 'base64').toString('hex'),
    },
    license: 'MIT',
    where: '/nodejs',
  };
  const hidden = JSON.parse(readFileSync(join(app, 'app/node_modules/.package-lock.json'), 'utf8'));
  const deps = Object.entries(hidden.packages)
    .filter(([path]) => path.startsWith('node_modules/'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, p]) => {
      const pkgName = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const meta = JSON.parse(readFileSync(join(app, 'app', path, 'package.json'), 'utf8'));
      const hash = p.integrity?.startsWith('sha512-')
        ? {
            algorithm: 'SHA512',
            checksumValue: Buffer.from(p.integrity.slice(7), 'base64').toString('hex'),
          }
        : undefined;
      return {
        kind: 'npm',
        name: pkgName,
        version: p.version,
        purl: `pkg:npm/${pkgName.startsWith('@') ? `%40${pkgName.slice(1)}` : pkgName}@${p.version}`,
        checksum: hash,
        license: spdxLicense(meta.license),
        where: `/app/${path}`,
      };
    });
  return [node, ...deps];
}

function spdx(image, packages) {
  const id = (p, i) => `SPDXRef-Package-${p.kind}-${i}`;
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${image.name}:${image.tag}`,
    documentNamespace: `https://spdx.org/spdxdocs/${image.name}-${image.tag}-${image.manifestDigest.slice(7)}`,
    creationInfo: { created, creators: ['Tool: sitesync hack/image/oci.mjs'] },
    packages: [
      {
        SPDXID: 'SPDXRef-Image',
        name: image.name,
        versionInfo: image.tag,
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        primaryPackagePurpose: 'CONTAINER',
        checksums: [{ algorithm: 'SHA256', checksumValue: image.manifestDigest.slice(7) }],
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: 'Apache-2.0',
        copyrightText: 'NOASSERTION',
      },
      ...packages.map((p, i) => ({
        SPDXID: id(p, i),
        name: p.name,
        versionInfo: p.version,
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        ...(p.checksum ? { checksums: [p.checksum] } : {}),
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: p.license,
        copyrightText: 'NOASSERTION',
        externalRefs: [
          { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: p.purl },
        ],
      })),
    ],
    relationships: [
      {
        spdxElementId: 'SPDXRef-DOCUMENT',
        relationshipType: 'DESCRIBES',
        relatedSpdxElement: 'SPDXRef-Image',
      },
      ...packages.map((p, i) => ({
        spdxElementId: 'SPDXRef-Image',
        relationshipType: 'CONTAINS',
        relatedSpdxElement: id(p, i),
      })),
    ],
  };
}

// ---- The image ----------------------------------------------------------------------------

function writeBlob(layout, data) {
  const digest = sha256(data);
  writeFileSync(join(layout, 'blobs/sha256', digest), data);
  return { digest: `sha256:${digest}`, size: data.length };
}

async function main() {
  const { config, history } = imageConfig(finalStage(readFileSync(opt.dockerfile, 'utf8')));
  const lock = readFileSync(opt.lock, 'utf8');
  const out = opt.out;
  rmSync(out, { recursive: true, force: true });
  const work = join(out, '.work');
  const layout = join(out, 'oci');
  mkdirSync(work, { recursive: true });
  mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });

  const layers = [];
  for (const [i, l] of LAYERS.entries()) layers.push(await buildLayer(l.dir, work, i));
  for (const l of layers) renameSync(l.path, join(layout, 'blobs/sha256', l.digest.slice(7)));

  const arch =
    { x64: 'amd64', arm64: 'arm64' }[process.arch] ??
    fail(`no OCI architecture for ${process.arch}`);
  const configBlob = writeBlob(
    layout,
    Buffer.from(
      JSON.stringify({
        created,
        architecture: arch,
        os: 'linux',
        config,
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) },
        history: history.map((h) => ({
          created,
          created_by: h,
          ...(h.startsWith('COPY ') ? {} : { empty_layer: true }),
        })),
      }),
    ),
  );
  const manifestBlob = writeBlob(
    layout,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
        layers: layers.map((l) => ({
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: l.digest,
          size: l.size,
        })),
      }),
    ),
  );
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifestBlob,
          // The name and tag the chart deploys: podman load reads ref.name, containerd's
          // import (kind load image-archive) io.containerd.image.name.
          annotations: {
            'org.opencontainers.image.ref.name': `${opt.name}:${opt.tag}`,
            'io.containerd.image.name': `docker.io/library/${opt.name}:${opt.tag}`,
          },
        },
      ],
    }),
  );

  // The archive (for `podman load`, `skopeo copy oci-archive:`): the layout as one tar.
  const base = `${opt.name}-${opt.tag}`;
  const archiveList = join(work, 'archive.list');
  writeFileSync(
    archiveList,
    listTree(layout)
      .map((e) => `${e}\0`)
      .join(''),
  );
  run('tar', [
    '--create',
    `--file=${join(out, `${base}.oci.tar`)}`,
    `--directory=${layout}`,
    '--no-recursion',
    '--null',
    '--verbatim-files-from',
    `--files-from=${archiveList}`,
    '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    `--mtime=@${epoch}`,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
  ]);

  const image = { name: opt.name, tag: opt.tag, manifestDigest: manifestBlob.digest };
  const packages = [...debianPackages(opt.rootfs, lock), ...npmPackages(opt.app, lock)];
  writeFileSync(
    join(out, `${base}.spdx.json`),
    JSON.stringify(spdx(image, packages), null, 2) + '\n',
  );
  writeFileSync(
    join(out, `${base}.packages.txt`),
    packages
      .map((p) => `${p.kind} ${p.name} ${p.version}${p.where ? ` ${p.where}` : ''}`)
      .join('\n') + '\n',
  );
  const summary = {
    name: opt.name,
    tag: opt.tag,
    manifestDigest: manifestBlob.digest,
    configDigest: configBlob.digest,
    layers: layers.map(({ path: _path, ...l }, i) => ({ ...l, from: LAYERS[i].what })),
    compressedBytes: layers.reduce((n, l) => n + l.size, 0),
    unpackedBytes: layers.reduce((n, l) => n + l.unpacked, 0),
    packages: packages.length,
  };
  writeFileSync(join(out, 'image.json'), JSON.stringify(summary, null, 2) + '\n');
  rmSync(work, { recursive: true, force: true });
  console.log(JSON.stringify(summary));
}

await main();
