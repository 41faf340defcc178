/** Node runtime helpers. */
export { startModuleWorker } from './module-worker.ts';
export { lazyModule } from './lazy-module.ts';
export { limitHeapGrowth } from './heap.ts';
export { CertificateManager, type CertificateSource, type CertificateLog, type SecureContextTarget } from './tls/manager.ts';
export { trustCertificates, trustCertificateFiles, trustedCa } from './tls/trust.ts';
export { generateCa, issueServerCertificate, certificateFacts, type KeyPairPem, type CertificateFacts } from './tls/certificates.ts';
