package org.forestbus.api.storage;

import org.forestbus.api.ErrorCode;
import org.forestbus.api.ForestBusException;

/**
 * A storage failure. After a write or fsync failure the log refuses further writes (it cannot
 * know what reached the disk) until it is reopened.
 */
public class StorageException extends ForestBusException {
    private static final long serialVersionUID = 1L;

    public StorageException(String message, Throwable cause) {
        super(ErrorCode.INTERNAL_ERROR, message, cause);
    }

    public StorageException(String message) {
        super(ErrorCode.INTERNAL_ERROR, message);
    }
}
