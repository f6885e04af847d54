#!/usr/bin/env node
// Makes an X25519 key pair for `recovery-public-key`. Put the public key in the workflow (it is not
// secret); keep the private key offline, with whoever is on call for the rotation.
import sodium from 'libsodium-wrappers';

await sodium.ready;
const { publicKey, privateKey } = sodium.crypto_box_keypair();
const b64 = (b) => sodium.to_base64(b, sodium.base64_variants.ORIGINAL);
console.log(`recovery-public-key (put in the workflow): ${b64(publicKey)}`);
console.log(`private key (keep offline; needed to open a recovery blob): ${b64(privateKey)}`);
