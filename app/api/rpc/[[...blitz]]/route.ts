import { rpcAppHandler } from "@blitzjs/rpc"
import "app/blitz-server" // installs Blitz's session configuration
import { formatRpcError, handleRpcRequest } from "app/core/rpcRoute"

const blitzRpc = rpcAppHandler({ formatError: formatRpcError })

export const POST = handleRpcRequest(blitzRpc.POST)
export const GET = handleRpcRequest(blitzRpc.GET)
export const HEAD = handleRpcRequest(blitzRpc.HEAD)
