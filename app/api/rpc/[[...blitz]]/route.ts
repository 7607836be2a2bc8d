import { rpcAppHandler } from "@blitzjs/rpc"
import { withBlitzAuth } from "app/blitz-server"
import { handleRpcRequest } from "app/core/rpcRoute"

const blitzRpc = withBlitzAuth(rpcAppHandler())

export const POST = handleRpcRequest(blitzRpc.POST)
export const GET = handleRpcRequest(blitzRpc.GET)
export const HEAD = handleRpcRequest(blitzRpc.HEAD)
