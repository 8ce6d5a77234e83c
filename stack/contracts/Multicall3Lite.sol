// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

/// @title Multicall3Lite: the part of Multicall3's interface the local stack needs.
/// @notice Installed with `hardhat_setCode` at Multicall3's canonical address
/// 0xcA11bde05977b3631167028862bE2a173976CA11, which a bare local chain lacks.
///   - `tryAggregate` is what the x402 reference facilitator (npm package x402/evm) calls, through
///     eth_call, to diagnose a failed simulation: it reads balanceOf, name, version and
///     authorizationState in one call and reports the precise reason
///     (invalid_exact_evm_nonce_already_used, ..._insufficient_balance) instead of
///     invalid_exact_evm_transaction_simulation_failed.
///   - `aggregate3` is what viem's `multicall` action calls, for clients that use it.
/// Same ABI and semantics as Multicall3 for these two functions; no state, no constructor,
/// so the runtime bytecode can be placed anywhere.
contract Multicall3Lite {
    struct Call {
        address target;
        bytes callData;
    }

    struct Call3 {
        address target;
        bool allowFailure;
        bytes callData;
    }

    struct Result {
        bool success;
        bytes returnData;
    }

    /// Calls each target in turn; reverts on a failed call only when `requireSuccess`.
    function tryAggregate(bool requireSuccess, Call[] calldata calls)
        external
        payable
        returns (Result[] memory returnData)
    {
        returnData = new Result[](calls.length);
        for (uint256 i = 0; i < calls.length; i++) {
            (bool success, bytes memory data) = calls[i].target.call(calls[i].callData);
            require(success || !requireSuccess, "Multicall3: call failed");
            returnData[i] = Result(success, data);
        }
    }

    /// Calls each target in turn; reverts on a failed call unless that call allows failure.
    function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory returnData) {
        returnData = new Result[](calls.length);
        for (uint256 i = 0; i < calls.length; i++) {
            (bool success, bytes memory data) = calls[i].target.call(calls[i].callData);
            require(success || calls[i].allowFailure, "Multicall3: call failed");
            returnData[i] = Result(success, data);
        }
    }
}
