import { rpcAppHandler } from "@blitzjs/rpc"
import { withBlitzAuth } from "app/blitz-server"
import { formatRpcError, handleRpcRequest } from "app/core/rpcRoute"

const blitzRpc = withBlitzAuth(rpcAppHandler({ formatError: formatRpcError }))

export const POST = handleRpcRequest(blitzRpc.POST)
export const GET = handleRpcRequest(blitzRpc.GET)
export const HEAD = handleRpcRequest(blitzRpc.HEAD)
