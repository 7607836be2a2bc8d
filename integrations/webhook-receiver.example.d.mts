import type { Server } from "node:http"

/** Types of webhook-receiver.example.mjs (the README's receiver), for the tests that run its very code. */
export function verifySignature(header: string | string[] | undefined, rawBody: string, secret: string, nowSeconds?: number): boolean
export function createReceiver(
  secret: string,
  onEvent?: (event: { id: string; type: string; createdAt: string; data: Record<string, unknown> }) => void,
): Server
