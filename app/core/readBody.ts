/**
 * Reads a request body as text, counting bytes as they arrive, and stops at `limitBytes`: a
 * chunked body has no Content-Length to check up front. Returns null when the body is larger.
 */
export async function readBodyText(request: Request, limitBytes: number): Promise<string | null> {
  if (!request.body) return ""
  const reader = request.body.getReader()
  const decoder = new TextDecoder()
  let received = 0
  let text = ""
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return text + decoder.decode()
    received += value.byteLength
    if (received > limitBytes) {
      // Stop pulling: the rest of the upload is never buffered.
      await reader.cancel().catch(() => {})
      return null
    }
    text += decoder.decode(value, { stream: true })
  }
}
