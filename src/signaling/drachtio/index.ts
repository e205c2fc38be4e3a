// The drachtio-srf signaling backend (sip.backend: drachtio).
export { DrachtioBackend, type DrachtioBackendOptions, type DrachtioConnection } from './drachtio-backend.js';
