import { z } from "zod"
import { safeText } from "app/core/text"

const rowId = (what: string) =>
  z
    .number({ message: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .positive(`${what} must be a positive number`)
    .max(2_147_483_647, `${what} is too large`)

export const WEBHOOK_URL_MAX_LENGTH = 2000
export const WEBHOOK_DESCRIPTION_MAX_LENGTH = 200
const URL_MESSAGE = "Enter the endpoint's address: an http:// or https:// URL"

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value)
    return (url.protocol === "http:" || url.protocol === "https:") && !url.username && !url.password
  } catch {
    return false
  }
}

export const webhookUrl = safeText({ message: URL_MESSAGE })
  .trim()
  .min(1, URL_MESSAGE)
  .max(WEBHOOK_URL_MAX_LENGTH, `The URL must be at most ${WEBHOOK_URL_MAX_LENGTH} characters`)
  .refine((value) => !/\s/.test(value), URL_MESSAGE)
  .refine(isHttpUrl, "The URL must start with http:// or https:// and carry no user name or password")

export const CreateWebhookEndpoint = z
  .object({
    url: webhookUrl,
    description: safeText({ message: "The description must be text" })
      .trim()
      .max(WEBHOOK_DESCRIPTION_MAX_LENGTH, `The description must be at most ${WEBHOOK_DESCRIPTION_MAX_LENGTH} characters`)
      .refine((value) => !/[\r\n]/.test(value), "The description must be one line")
      .optional(),
  })
  .strict()

export const SetWebhookEndpointEnabled = z
  .object({ id: rowId("Endpoint ID"), enabled: z.boolean({ message: "enabled must be true or false" }) })
  .strict()

export const DeleteWebhookEndpoint = z.object({ id: rowId("Endpoint ID") }).strict()

export const RetryOutboxMessage = z.object({ id: rowId("Message ID") }).strict()
