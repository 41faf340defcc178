/**
 * Certificate generation for `tls.auto` (docs/tls.md): a private CA and server certificates it
 * signs, as PEM text. ECDSA P-256 with SHA-256 throughout: every TLS client Wharf serves (docker,
 * podman, containerd, skopeo, curl, browsers) accepts it, and keys are generated in milliseconds.
 * @peculiar/x509 builds the certificates over node:crypto's WebCrypto; nothing here touches files.
 */
import { X509Certificate as NodeX509, createPrivateKey, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

// Node's WebCrypto (globalThis.crypto), the provider @peculiar/x509 signs with.
const webcrypto = globalThis.crypto;

/**
 * @peculiar/x509, loaded on first use: only `tls.auto` generates certificates, and the library
 * with its ASN.1 schemas is about 150 modules every other start would load for nothing.
 */
let library: Promise<typeof import('@peculiar/x509')> | undefined;
function x509Library(): Promise<typeof import('@peculiar/x509')> {
  return (library ??= import('@peculiar/x509').then((x509) => {
    x509.cryptoProvider.set(webcrypto);
    return x509;
  }));
}

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const dayMs = 24 * 3600 * 1000;

/** A certificate and its private key, both PEM. */
export interface KeyPairPem {
  cert: string;
  key: string;
}

/** A positive 128-bit serial number in hex (RFC 5280: unique per CA, at most 20 bytes). */
function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString('hex');
}

async function exportKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END PRIVATE KEY-----\n`;
}

/** Escapes a value for an RFC 4514 distinguished name. */
function dnValue(v: string): string {
  return v.replace(/[\\,+"<>;=]/g, '\\$&');
}

/** A new self-signed CA valid for `days` from `now` (path length 0: it signs server certificates only). */
export async function generateCa(commonName: string, now: Date, days: number): Promise<KeyPairPem> {
  const x509 = await x509Library();
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${dnValue(commonName)}, O=Wharf`,
    notBefore: new Date(now.getTime() - 3600_000),
    notAfter: new Date(now.getTime() + days * dayMs),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await exportKey(keys.privateKey) };
}

/**
 * A server certificate for `names` (DNS names and IP addresses; the first is the subject's common
 * name) signed by `ca`, valid for `days` from `now`. `cert` holds the certificate then the CA's:
 * the chain a server sends.
 */
export async function issueServerCertificate(ca: KeyPairPem, names: readonly string[], now: Date, days: number): Promise<KeyPairPem> {
  const x509 = await x509Library();
  const caCert = new x509.X509Certificate(ca.cert);
  const caKeyDer = createPrivateKey(ca.key).export({ format: 'der', type: 'pkcs8' });
  const caKey = await webcrypto.subtle.importKey('pkcs8', caKeyDer, algorithm, false, ['sign']);
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${dnValue(names[0] ?? 'localhost')}`,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - 3600_000),
    // A server certificate never outlives its CA.
    notAfter: new Date(Math.min(now.getTime() + days * dayMs, caCert.notAfter.getTime())),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((n) => ({ type: isIP(n) ? ('ip' as const) : ('dns' as const), value: n }))),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { cert: cert.toString('pem') + '\n' + ca.cert, key: await exportKey(keys.privateKey) };
}

/** What a server certificate covers and until when (read from its PEM, the first of a chain). */
export interface CertificateFacts {
  serial: string;
  notAfter: Date;
  /** Its DNS names and IP addresses (subjectAltName). */
  names: string[];
  /** True when `caPem` signed it. */
  signedBy(caPem: string): boolean;
}

/** Reads the first certificate of a PEM chain. */
export function certificateFacts(pem: string): CertificateFacts {
  const cert = new NodeX509(pem);
  const names = (cert.subjectAltName ?? '')
    .split(', ')
    .map((e) => /^(?:DNS|IP Address):(.*)$/.exec(e)?.[1])
    .filter((n): n is string => n !== undefined);
  return {
    serial: cert.serialNumber,
    notAfter: new Date(cert.validTo),
    names,
    signedBy: (caPem) => {
      const ca = new NodeX509(caPem);
      return cert.checkIssued(ca) && cert.verify(ca.publicKey);
    },
  };
}
