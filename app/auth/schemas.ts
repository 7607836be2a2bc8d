import { z } from "zod"
import { safeText } from "app/core/text"

export const email = safeText()
  .trim()
  .max(254, "Email is too long")
  .pipe(z.email("Enter a valid email address"))
  .transform((value) => value.toLowerCase())

export const password = safeText()
  .min(10, "Password must be at least 10 characters")
  .max(100, "Password must be at most 100 characters")

export const Login = z.object({
  email,
  password: safeText().min(1, "Enter your password").max(100, "Password is too long"),
})

export const Signup = z.object({
  name: safeText().trim().min(1, "Enter your name").max(100, "Name is too long"),
  email,
  password,
})
