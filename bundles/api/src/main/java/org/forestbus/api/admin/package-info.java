/** Administration contracts: creating and deleting topics ({@link org.forestbus.api.admin.TopicAdmin}). */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.forestbus.api.admin;
