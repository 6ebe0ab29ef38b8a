//! The option rows, one per imapd.conf option, generated from lib/imapoptions of Cyrus 3.6.1
//! (names, types, defaults, versions, deprecations: data only) and kept in the same order.
//!
//! Owns nothing but the list; must not contain logic. Edit rows by hand when a release changes
//! an option.

use super::{OptDefault as D, OptDesc, OptKind as K, Unit, options};

options! {
    AclAdminImpliesWrite = "acl_admin_implies_write", K::Switch, D::Switch(false), "3.6.0", None;
    Addressbookprefix = "addressbookprefix", K::Str, D::Str("#addressbooks"), "2.5.0", None;
    Admins = "admins", K::Str, D::Str(""), "2.3.17", None;
    AfsptsLocalrealms = "afspts_localrealms", K::Str, D::None, "2.3.17", None;
    AfsptsMycell = "afspts_mycell", K::Str, D::None, "2.3.17", None;
    Allowallsubscribe = "allowallsubscribe", K::Switch, D::Switch(false), "2.3.17", None;
    Allowanonymouslogin = "allowanonymouslogin", K::Switch, D::Switch(false), "2.3.17", None;
    Allowapop = "allowapop", K::Switch, D::Switch(true), "2.3.17", None;
    Allowdeleted = "allowdeleted", K::Switch, D::Switch(false), "3.1.8", None;
    Allownewnews = "allownewnews", K::Switch, D::Switch(false), "2.3.17", None;
    Allowplaintext = "allowplaintext", K::Switch, D::Switch(false), "3.0.0", None;
    Allowsetacl = "allowsetacl", K::Switch, D::Switch(true), "3.1.8", None;
    Allowusermoves = "allowusermoves", K::Switch, D::Switch(false), "2.3.17", None;
    Altnamespace = "altnamespace", K::Switch, D::Switch(true), "3.0.0", None;
    Altprefix = "altprefix", K::Str, D::Str("Alt Folders"), "3.0.0", None;
    AnnotationDb = "annotation_db",
        K::StringList(&["skiplist", "twoskip", "zeroskip"]),
        D::Str("twoskip"), "3.1.6", None;
    AnnotationDbPath = "annotation_db_path", K::Str, D::None, "2.5.0", None;
    Anyoneuseracl = "anyoneuseracl", K::Switch, D::Switch(true), "2.3.17", None;
    AnnotationAllowUndefined = "annotation_allow_undefined",
        K::Switch,
        D::Switch(false), "2.5.0", None;
    AnnotationDefinitions = "annotation_definitions", K::Str, D::None, "2.5.0", None;
    AnnotationCallout = "annotation_callout", K::Str, D::None, "2.5.0", None;
    AnnotationCalloutDisableAppend = "annotation_callout_disable_append",
        K::Switch,
        D::Switch(false), "3.1.2", None;
    AnnotationEnableLegacyCommands = "annotation_enable_legacy_commands",
        K::Switch,
        D::Switch(false), "3.1.6", None;
    ApsTopic = "aps_topic", K::Str, D::None, "3.0.0", None;
    ApsTopicCaldav = "aps_topic_caldav", K::Str, D::None, "3.0.0", None;
    ApsTopicCarddav = "aps_topic_carddav", K::Str, D::None, "3.0.0", None;
    ArchiveEnabled = "archive_enabled", K::Switch, D::Switch(false), "3.0.0", None;
    ArchiveDays = "archive_days",
        K::Duration(Unit::Days),
        D::None, "3.1.8", Some(("3.1.8", Some(Opt::ArchiveAfter)));
    ArchiveAfter = "archive_after", K::Duration(Unit::Days), D::Str("7d"), "3.1.8", None;
    ArchiveMaxsize = "archive_maxsize", K::Int, D::Int(1024), "3.0.0", None;
    ArchiveKeepflagged = "archive_keepflagged", K::Switch, D::Switch(false), "3.0.0", None;
    Auditlog = "auditlog", K::Switch, D::Switch(false), "2.4.0", None;
    AuthMech = "auth_mech",
        K::StringList(&["unix", "pts", "krb", "krb5"]),
        D::Str("unix"), "2.3.17", None;
    Autocreateinboxfolders = "autocreateinboxfolders",
        K::Str,
        D::None, "2.5.0", Some(("2.5.0", Some(Opt::AutocreateInboxFolders)));
    Autocreatequota = "autocreatequota",
        K::Int,
        D::Int(0), "2.5.0", Some(("2.5.0", Some(Opt::AutocreateQuota)));
    Autocreatequotamsg = "autocreatequotamsg",
        K::Int,
        D::Int(-1), "2.5.0", Some(("2.5.0", Some(Opt::AutocreateQuotaMessages)));
    Autosievefolders = "autosievefolders",
        K::Str,
        D::None, "2.5.0", Some(("2.5.0", Some(Opt::AutocreateSieveFolders)));
    GenerateCompiledSieveScript = "generate_compiled_sieve_script",
        K::Switch,
        D::Switch(false), "2.5.0", Some(("2.5.0", Some(Opt::AutocreateSieveScriptCompile)));
    AutocreateSieveCompiledScript = "autocreate_sieve_compiled_script",
        K::Str,
        D::None, "2.5.0", Some(("2.5.0", Some(Opt::AutocreateSieveScriptCompiled)));
    Autosubscribeinboxfolders = "autosubscribeinboxfolders",
        K::Str,
        D::None, "2.5.0", Some(("2.5.0", Some(Opt::AutocreateSubscribeFolders)));
    Autosubscribesharedfolders = "autosubscribesharedfolders",
        K::Str,
        D::None, "2.5.0", Some(("2.5.0", Some(Opt::AutocreateSubscribeSharedfolders)));
    AutosubscribeAllSharedfolders = "autosubscribe_all_sharedfolders",
        K::Switch,
        D::Switch(false), "2.5.0", Some(("2.5.0", Some(Opt::AutocreateSubscribeSharedfoldersAll)));
    AutocreateInboxFolders = "autocreate_inbox_folders", K::Str, D::None, "2.5.0", None;
    AutocreatePost = "autocreate_post", K::Switch, D::Switch(false), "2.5.0", None;
    AutocreateQuota = "autocreate_quota", K::Int, D::Int(-1), "2.5.0", None;
    AutocreateQuotaMessages = "autocreate_quota_messages", K::Int, D::Int(-1), "3.0.0", None;
    AutocreateSieveFolders = "autocreate_sieve_folders", K::Str, D::None, "2.5.0", None;
    AutocreateSieveScript = "autocreate_sieve_script", K::Str, D::None, "2.5.0", None;
    AutocreateSieveScriptCompile = "autocreate_sieve_script_compile",
        K::Switch,
        D::Switch(false), "2.5.0", None;
    AutocreateSieveScriptCompiled = "autocreate_sieve_script_compiled",
        K::Str,
        D::None, "2.5.0", None;
    AutocreateSubscribeFolders = "autocreate_subscribe_folders", K::Str, D::None, "2.5.0", None;
    AutocreateSubscribeSharedfolders = "autocreate_subscribe_sharedfolders",
        K::Str,
        D::None, "2.5.0", None;
    AutocreateSubscribeSharedfoldersAll = "autocreate_subscribe_sharedfolders_all",
        K::Switch,
        D::Switch(false), "2.5.0", None;
    AutocreateUsers = "autocreate_users", K::Str, D::Str("anyone"), "2.5.0", None;
    Autoexpunge = "autoexpunge", K::Switch, D::Switch(false), "3.1.7", None;
    BackupCompactMinsize = "backup_compact_minsize", K::Int, D::Int(0), "3.0.0", None;
    BackupCompactMaxsize = "backup_compact_maxsize", K::Int, D::Int(0), "3.0.0", None;
    BackupCompactWorkThreshold = "backup_compact_work_threshold", K::Int, D::Int(1), "3.0.0", None;
    BackupStagingPath = "backup_staging_path", K::Str, D::None, "3.0.0", None;
    BackupRetentionDays = "backup_retention_days",
        K::Duration(Unit::Days),
        D::None, "3.1.8", Some(("3.1.8", Some(Opt::BackupRetention)));
    BackupRetention = "backup_retention", K::Duration(Unit::Days), D::Str("7d"), "3.1.0", None;
    BackupDb = "backup_db",
        K::StringList(&["skiplist", "sql", "twoskip", "zeroskip"]),
        D::Str("twoskip"), "3.1.6", None;
    BackupDbPath = "backup_db_path", K::Str, D::None, "3.0.0", None;
    BackupKeepPrevious = "backup_keep_previous", K::Switch, D::Switch(false), "3.0.0", None;
    BoundaryLimit = "boundary_limit", K::Int, D::Int(1000), "2.5.0", None;
    CaldavAcceptInvalidRrules = "caldav_accept_invalid_rrules",
        K::Switch,
        D::Switch(false), "3.6.0", None;
    CaldavAllowattach = "caldav_allowattach", K::Switch, D::Switch(true), "3.0.0", None;
    CaldavAllowcalendaradmin = "caldav_allowcalendaradmin",
        K::Switch,
        D::Switch(false), "3.1.2", None;
    CaldavAllowscheduling = "caldav_allowscheduling",
        K::Enum(&["off", "on", "apple"]),
        D::Str("on"), "2.5.0", None;
    CaldavCreateAttach = "caldav_create_attach", K::Switch, D::Switch(true), "3.0.0", None;
    CaldavCreateDefault = "caldav_create_default", K::Switch, D::Switch(true), "3.0.0", None;
    CaldavCreateSched = "caldav_create_sched", K::Switch, D::Switch(true), "3.0.0", None;
    CaldavHistoricalAge = "caldav_historical_age",
        K::Duration(Unit::Days),
        D::Str("7d"), "3.1.8", None;
    CaldavMaxdatetime = "caldav_maxdatetime", K::Str, D::Str("20380119T031407Z"), "2.5.0", None;
    CaldavMindatetime = "caldav_mindatetime", K::Str, D::Str("19011213T204552Z"), "2.5.0", None;
    CaldavRealm = "caldav_realm", K::Str, D::None, "2.5.0", None;
    Calendarprefix = "calendarprefix", K::Str, D::Str("#calendars"), "2.5.0", None;
    CalendarDefaultDisplayname = "calendar_default_displayname",
        K::Str,
        D::Str("personal"), "3.3.0", None;
    CalendarUserAddressSet = "calendar_user_address_set", K::Str, D::None, "2.5.0", None;
    CalendarComponentSet = "calendar_component_set",
        K::Bitfield(&["VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VAVAILABILITY", "VPOLL"]),
        D::Str("VEVENT VTODO VJOURNAL VFREEBUSY VAVAILABILITY VPOLL"), "3.1.7", None;
    CarddavAllowaddmember = "carddav_allowaddmember", K::Switch, D::Switch(false), "3.1.3", None;
    CarddavAllowaddressbookadmin = "carddav_allowaddressbookadmin",
        K::Switch,
        D::Switch(false), "3.1.2", None;
    CarddavRealm = "carddav_realm", K::Str, D::None, "2.5.0", None;
    CarddavRepairVcard = "carddav_repair_vcard",
        K::Switch,
        D::Switch(false), "3.0.0", Some(("3.3.1", None));
    Chatty = "chatty", K::Switch, D::Switch(false), "2.5.0", None;
    ClientBind = "client_bind", K::Switch, D::Switch(false), "3.0.0", None;
    ClientBindName = "client_bind_name", K::Str, D::None, "3.0.0", None;
    ClientTimeout = "client_timeout", K::Duration(Unit::Seconds), D::Str("10s"), "3.1.8", None;
    Commandmintimer = "commandmintimer", K::Str, D::None, "2.4.0", None;
    Configdirectory = "configdirectory", K::Str, D::None, "2.3.17", None;
    Createonpost = "createonpost",
        K::Switch,
        D::Switch(false), "2.5.0", Some(("2.5.0", Some(Opt::AutocreatePost)));
    Conversations = "conversations", K::Switch, D::Switch(false), "3.0.0", None;
    ConversationsCountedFlags = "conversations_counted_flags", K::Str, D::None, "3.0.0", None;
    ConversationsDb = "conversations_db",
        K::StringList(&["skiplist", "sql", "twoskip", "zeroskip"]),
        D::Str("skiplist"), "3.1.6", None;
    ConversationsExpireDays = "conversations_expire_days",
        K::Duration(Unit::Days),
        D::None, "3.1.8", Some(("3.1.8", Some(Opt::ConversationsExpireAfter)));
    ConversationsExpireAfter = "conversations_expire_after",
        K::Duration(Unit::Days),
        D::Str("90d"), "3.1.8", None;
    ConversationsKeepExisting = "conversations_keep_existing",
        K::Switch,
        D::Switch(true), "3.3.0", None;
    ConversationsMaxThread = "conversations_max_thread", K::Int, D::Int(100), "3.1.1", None;
    ConversationsMaxGuidrecords = "conversations_max_guidrecords",
        K::Int,
        D::Int(5000), "3.3.0", None;
    ConversationsMaxGuidexists = "conversations_max_guidexists", K::Int, D::Int(100), "3.3.0", None;
    ConversationsMaxGuidinfolder = "conversations_max_guidinfolder",
        K::Int,
        D::Int(10), "3.3.0", None;
    Crossdomains = "crossdomains", K::Switch, D::Switch(false), "3.0.0", None;
    CrossdomainsOnlyother = "crossdomains_onlyother", K::Switch, D::Switch(false), "3.0.0", None;
    CyrusGroup = "cyrus_group", K::Str, D::None, "3.1.7", None;
    CyrusUser = "cyrus_user", K::Str, D::None, "3.0.0", None;
    Davdriveprefix = "davdriveprefix", K::Str, D::Str("#drive"), "3.0.0", None;
    Davnotificationsprefix = "davnotificationsprefix",
        K::Str,
        D::Str("#notifications"), "3.0.0", None;
    DavRealm = "dav_realm", K::Str, D::None, "2.5.0", None;
    DavLockTimeout = "dav_lock_timeout", K::Duration(Unit::Seconds), D::Str("20s"), "3.1.8", None;
    Debug = "debug", K::Switch, D::Switch(false), "2.5.0", None;
    DebugCommand = "debug_command", K::Str, D::None, "2.3.17", None;
    DebugWritefailGuid = "debug_writefail_guid", K::Str, D::None, "3.6.0", None;
    Defaultacl = "defaultacl", K::Str, D::Str("anyone lrs"), "2.3.17", None;
    Defaultdomain = "defaultdomain", K::Str, D::Str("internal"), "3.0.0", None;
    Defaultpartition = "defaultpartition", K::Str, D::None, "2.3.17", None;
    Defaultsearchtier = "defaultsearchtier", K::Str, D::Str(""), "3.0.0", None;
    Defaultserver = "defaultserver", K::Str, D::None, "2.3.17", None;
    Deletedprefix = "deletedprefix", K::Str, D::Str("DELETED"), "2.3.17", None;
    DeleteMode = "delete_mode",
        K::Enum(&["immediate", "delayed"]),
        D::Str("delayed"), "2.5.0", None;
    DeleteUnsubscribe = "delete_unsubscribe", K::Switch, D::Switch(false), "3.0.0", None;
    Deleteright = "deleteright", K::Str, D::Str("c"), "2.3.17", None;
    DisableUserNamespace = "disable_user_namespace", K::Switch, D::Switch(false), "2.5.0", None;
    DisableSharedNamespace = "disable_shared_namespace", K::Switch, D::Switch(false), "2.5.0", None;
    DisconnectOnVanishedMailbox = "disconnect_on_vanished_mailbox",
        K::Switch,
        D::Switch(false), "2.3.17", None;
    IscheduleDkimDomain = "ischedule_dkim_domain", K::Str, D::None, "2.5.0", None;
    IscheduleDkimKeyFile = "ischedule_dkim_key_file", K::Str, D::None, "2.5.0", None;
    IscheduleDkimRequired = "ischedule_dkim_required", K::Switch, D::Switch(true), "3.1.4", None;
    IscheduleDkimSelector = "ischedule_dkim_selector", K::Str, D::None, "2.5.0", None;
    DuplicateDb = "duplicate_db",
        K::StringList(&["skiplist", "sql", "twoskip", "zeroskip"]),
        D::Str("twoskip"), "3.1.6", None;
    DuplicateDbPath = "duplicate_db_path", K::Str, D::None, "2.5.0", None;
    Duplicatesuppression = "duplicatesuppression", K::Switch, D::Switch(true), "2.3.17", None;
    EventContentInclusionMode = "event_content_inclusion_mode",
        K::Enum(&["standard", "message", "header", "body", "headerbody"]),
        D::Str("standard"), "2.5.0", None;
    EventContentSize = "event_content_size", K::Int, D::Int(0), "2.5.0", None;
    EventExcludeFlags = "event_exclude_flags", K::Str, D::None, "2.5.0", None;
    EventExcludeSpecialuse = "event_exclude_specialuse", K::Str, D::Str("\\Junk"), "2.5.0", None;
    EventExtraParams = "event_extra_params",
        K::Bitfield(&[
            "bodyStructure", "clientAddress", "diskUsed", "flagNames", "messageContent",
            "messageSize", "messages", "modseq", "service", "timestamp", "uidnext",
            "vnd.cmu.midset", "vnd.cmu.unseenMessages", "vnd.cmu.envelope", "vnd.cmu.sessionId",
            "vnd.cmu.mailboxACL", "vnd.cmu.mbtype", "vnd.cmu.davFilename", "vnd.cmu.davUid",
            "vnd.fastmail.clientId", "vnd.fastmail.sessionId", "vnd.fastmail.convExists",
            "vnd.fastmail.convUnseen", "vnd.fastmail.cid", "vnd.fastmail.counters",
            "vnd.fastmail.jmapEmail", "vnd.fastmail.jmapStates", "vnd.cmu.emailid",
            "vnd.cmu.threadid"
        ]),
        D::Str("timestamp"), "3.6.0", None;
    EventGroups = "event_groups",
        K::Bitfield(&[
            "message", "quota", "flags", "access", "mailbox", "subscription", "calendar",
            "applepushservice"
        ]),
        D::Str("message mailbox"), "3.0.0", None;
    EventNotifier = "event_notifier", K::Str, D::None, "2.5.0", None;
    ExpungeMode = "expunge_mode",
        K::Enum(&["immediate", "semidelayed", "delayed"]),
        D::Str("delayed"), "3.1.1", None;
    Failedloginpause = "failedloginpause", K::Duration(Unit::Seconds), D::Str("3s"), "3.1.8", None;
    Flushseenstate = "flushseenstate", K::Switch, D::Switch(true), "2.5.0", Some(("2.5.0", None));
    Foolstupidclients = "foolstupidclients", K::Switch, D::Switch(false), "2.3.17", None;
    ForceSaslClientMech = "force_sasl_client_mech", K::Str, D::None, "2.3.17", None;
    Fulldirhash = "fulldirhash", K::Switch, D::Switch(false), "2.3.17", None;
    Hashimapspool = "hashimapspool", K::Switch, D::Switch(false), "2.3.17", None;
    Httpallowcompress = "httpallowcompress", K::Switch, D::Switch(true), "2.5.0", None;
    Httpallowcors = "httpallowcors", K::Str, D::None, "2.5.0", None;
    Httpallowtrace = "httpallowtrace", K::Switch, D::Switch(false), "2.5.0", None;
    Httpallowedurls = "httpallowedurls", K::Str, D::None, "2.5.0", None;
    Httpcontentmd5 = "httpcontentmd5", K::Switch, D::Switch(false), "2.5.0", None;
    Httpdocroot = "httpdocroot", K::Str, D::None, "2.5.0", None;
    Httpkeepalive = "httpkeepalive", K::Duration(Unit::Seconds), D::Str("20s"), "3.1.8", None;
    Httplogheaders = "httplogheaders", K::Str, D::None, "3.3.1", None;
    Httpmodules = "httpmodules",
        K::Bitfield(&[
            "admin", "caldav", "carddav", "cgi", "domainkey", "freebusy", "ischedule", "jmap",
            "prometheus", "rss", "tzdist", "webdav"
        ]),
        D::Str(""), "3.1.7", None;
    Httpprettytelemetry = "httpprettytelemetry", K::Switch, D::Switch(false), "2.5.0", None;
    Httptimeout = "httptimeout", K::Duration(Unit::Minutes), D::Str("5m"), "3.1.8", None;
    HttpH2Altsvc = "http_h2_altsvc", K::Str, D::None, "3.6.0", None;
    HttpJwtKeyDir = "http_jwt_key_dir", K::Str, D::None, "3.6.0", None;
    HttpJwtMaxAge = "http_jwt_max_age", K::Duration(Unit::Seconds), D::Str("0s"), "3.6.0", None;
    IcalendarMaxSize = "icalendar_max_size", K::Int, D::Int(0), "3.6.0", None;
    Idlesocket = "idlesocket", K::Str, D::Str("{configdirectory}/socket/idle"), "2.3.17", None;
    Ignorereference = "ignorereference", K::Switch, D::Switch(false), "2.3.17", None;
    Imapidlepoll = "imapidlepoll", K::Duration(Unit::Seconds), D::Str("60s"), "3.1.8", None;
    Imapidresponse = "imapidresponse", K::Switch, D::Switch(true), "2.3.17", None;
    Imapmagicplus = "imapmagicplus", K::Switch, D::Switch(false), "2.3.17", None;
    Imipnotifier = "imipnotifier", K::Str, D::None, "3.0.0", None;
    ImplicitOwnerRights = "implicit_owner_rights", K::Str, D::Str("lkxan"), "3.1.2", None;
    ImprovedMboxlistSort = "improved_mboxlist_sort", K::Switch, D::Switch(false), "2.3.17", None;
    JmapEmailsearchDbPath = "jmap_emailsearch_db_path",
        K::Str,
        D::None, "3.1.6", Some(("3.6.0", None));
    JmapQuerycacheMaxAge = "jmap_querycache_max_age",
        K::Duration(Unit::Minutes),
        D::Str("0m"), "3.6.0", None;
    JmapPreviewAnnot = "jmap_preview_annot", K::Str, D::None, "3.1.1", None;
    JmapImagesizeAnnot = "jmap_imagesize_annot", K::Str, D::None, "3.1.1", None;
    JmapInlinedcidsAnnot = "jmap_inlinedcids_annot", K::Str, D::None, "3.1.1", None;
    JmapPreviewLength = "jmap_preview_length", K::Int, D::Int(64), "3.1.1", None;
    JmapMaxCatenateItems = "jmap_max_catenate_items", K::Int, D::Int(100), "3.6.0", None;
    JmapMaxSizeUpload = "jmap_max_size_upload", K::Int, D::Int(1048576), "3.1.6", None;
    JmapMaxSizeBlobSet = "jmap_max_size_blob_set", K::Int, D::Int(4096), "3.3.0", None;
    JmapMaxConcurrentUpload = "jmap_max_concurrent_upload", K::Int, D::Int(5), "3.1.6", None;
    JmapMaxSizeRequest = "jmap_max_size_request", K::Int, D::Int(10240), "3.1.6", None;
    JmapMaxConcurrentRequests = "jmap_max_concurrent_requests", K::Int, D::Int(5), "3.1.6", None;
    JmapMaxCallsInRequest = "jmap_max_calls_in_request", K::Int, D::Int(50), "3.1.6", None;
    JmapMaxDelayedSend = "jmap_max_delayed_send",
        K::Duration(Unit::Seconds),
        D::Str("512d"), "3.1.8", None;
    JmapMaxObjectsInGet = "jmap_max_objects_in_get", K::Int, D::Int(4096), "3.1.6", None;
    JmapMaxObjectsInSet = "jmap_max_objects_in_set", K::Int, D::Int(4096), "3.1.6", None;
    JmapMailMaxSizeAttachmentsPerEmail = "jmap_mail_max_size_attachments_per_email",
        K::Int,
        D::Int(10240), "3.1.6", None;
    JmapNonstandardExtensions = "jmap_nonstandard_extensions",
        K::Switch,
        D::Switch(false), "3.1.9", None;
    JmapPushpoll = "jmap_pushpoll", K::Duration(Unit::Seconds), D::Str("60s"), "3.6.0", None;
    JmapSetHasAttachment = "jmap_set_has_attachment", K::Switch, D::Switch(true), "3.1.5", None;
    JmapVacation = "jmap_vacation", K::Switch, D::Switch(true), "3.1.8", None;
    Jmapuploadfolder = "jmapuploadfolder", K::Str, D::Str("#jmap"), "3.1.1", None;
    JmapsubmissionDeleteonsend = "jmapsubmission_deleteonsend",
        K::Switch,
        D::Switch(true), "3.1.8", None;
    Jmapsubmissionfolder = "jmapsubmissionfolder", K::Str, D::Str("#jmapsubmission"), "3.1.8", None;
    Jmappushsubscriptionfolder = "jmappushsubscriptionfolder",
        K::Str,
        D::Str("#jmappushsubscription"), "3.1.8", None;
    Iolog = "iolog", K::Switch, D::Switch(false), "2.5.0", None;
    LdapAuthz = "ldap_authz", K::Str, D::None, "2.3.17", None;
    LdapBase = "ldap_base", K::Str, D::Str(""), "2.3.17", None;
    LdapBindDn = "ldap_bind_dn", K::Str, D::None, "2.3.17", None;
    LdapDeref = "ldap_deref",
        K::StringList(&["search", "find", "always", "never"]),
        D::Str("never"), "2.3.17", None;
    LdapDomainBaseDn = "ldap_domain_base_dn", K::Str, D::Str(""), "2.5.0", None;
    LdapDomainFilter = "ldap_domain_filter",
        K::Str,
        D::Str("(&(objectclass=domainrelatedobject)(associateddomain=%s))"), "2.5.0", None;
    LdapDomainNameAttribute = "ldap_domain_name_attribute",
        K::Str,
        D::Str("associateddomain"), "2.5.0", None;
    LdapDomainScope = "ldap_domain_scope",
        K::StringList(&["sub", "one", "base"]),
        D::Str("sub"), "2.5.0", None;
    LdapDomainResultAttribute = "ldap_domain_result_attribute",
        K::Str,
        D::Str("inetdomainbasedn"), "2.5.0", None;
    LdapFilter = "ldap_filter", K::Str, D::Str("(uid=%u)"), "2.3.17", None;
    LdapGroupBase = "ldap_group_base", K::Str, D::Str(""), "2.3.17", None;
    LdapGroupFilter = "ldap_group_filter", K::Str, D::Str("(cn=%u)"), "2.3.17", None;
    LdapGroupScope = "ldap_group_scope",
        K::StringList(&["sub", "one", "base"]),
        D::Str("sub"), "2.3.17", None;
    LdapId = "ldap_id", K::Str, D::None, "2.3.17", None;
    LdapMech = "ldap_mech", K::Str, D::None, "2.3.17", None;
    LdapUserAttribute = "ldap_user_attribute", K::Str, D::None, "2.5.0", None;
    LdapMemberAttribute = "ldap_member_attribute", K::Str, D::None, "2.3.17", None;
    LdapMemberBase = "ldap_member_base", K::Str, D::Str(""), "2.3.17", None;
    LdapMemberFilter = "ldap_member_filter", K::Str, D::Str("(member=%D)"), "2.3.17", None;
    LdapMemberMethod = "ldap_member_method",
        K::StringList(&["attribute", "filter"]),
        D::Str("attribute"), "2.3.17", None;
    LdapMemberScope = "ldap_member_scope",
        K::StringList(&["sub", "one", "base"]),
        D::Str("sub"), "2.3.17", None;
    LdapPassword = "ldap_password", K::Str, D::None, "2.3.17", None;
    LdapRealm = "ldap_realm", K::Str, D::None, "2.3.17", None;
    LdapReferrals = "ldap_referrals", K::Switch, D::Switch(false), "2.3.17", None;
    LdapRestart = "ldap_restart", K::Switch, D::Switch(true), "2.3.17", None;
    LdapSasl = "ldap_sasl", K::Switch, D::Switch(true), "2.3.17", None;
    LdapSaslAuthc = "ldap_sasl_authc", K::Str, D::None, "2.5.0", Some(("2.5.0", Some(Opt::LdapId)));
    LdapSaslAuthz = "ldap_sasl_authz",
        K::Str,
        D::None, "2.5.0", Some(("2.5.0", Some(Opt::LdapAuthz)));
    LdapSaslMech = "ldap_sasl_mech", K::Str, D::None, "2.5.0", Some(("2.5.0", Some(Opt::LdapMech)));
    LdapSaslPassword = "ldap_sasl_password",
        K::Str,
        D::None, "2.5.0", Some(("2.5.0", Some(Opt::LdapPassword)));
    LdapSaslRealm = "ldap_sasl_realm",
        K::Str,
        D::None, "2.5.0", Some(("2.5.0", Some(Opt::LdapRealm)));
    LdapScope = "ldap_scope", K::StringList(&["sub", "one", "base"]), D::Str("sub"), "2.3.17", None;
    LdapServers = "ldap_servers",
        K::Str,
        D::Str("ldap://localhost/"), "2.5.0", Some(("2.5.0", Some(Opt::LdapUri)));
    LdapSizeLimit = "ldap_size_limit", K::Int, D::Int(1), "2.3.17", None;
    LdapStartTls = "ldap_start_tls", K::Switch, D::Switch(false), "2.3.17", None;
    LdapTimeLimit = "ldap_time_limit", K::Duration(Unit::Seconds), D::Str("5s"), "3.1.8", None;
    LdapTimeout = "ldap_timeout", K::Duration(Unit::Seconds), D::Str("5s"), "3.1.8", None;
    LdapCaDir = "ldap_ca_dir", K::Str, D::None, "2.5.0", None;
    LdapCaFile = "ldap_ca_file", K::Str, D::None, "2.5.0", None;
    LdapCiphers = "ldap_ciphers", K::Str, D::None, "2.5.0", None;
    LdapClientCert = "ldap_client_cert", K::Str, D::None, "2.5.0", None;
    LdapClientKey = "ldap_client_key", K::Str, D::None, "2.5.0", None;
    LdapVerifyPeer = "ldap_verify_peer", K::Switch, D::Switch(false), "2.5.0", None;
    LdapTlsCacertDir = "ldap_tls_cacert_dir",
        K::Str,
        D::None, "2.5.0", Some(("2.5.0", Some(Opt::LdapCaDir)));
    LdapTlsCacertFile = "ldap_tls_cacert_file",
        K::Str,
        D::None, "2.5.0", Some(("2.5.0", Some(Opt::LdapCaFile)));
    LdapTlsCert = "ldap_tls_cert",
        K::Str,
        D::None, "2.5.0", Some(("2.5.0", Some(Opt::LdapClientCert)));
    LdapTlsKey = "ldap_tls_key",
        K::Str,
        D::None, "2.5.0", Some(("2.5.0", Some(Opt::LdapClientKey)));
    LdapTlsCheckPeer = "ldap_tls_check_peer",
        K::Switch,
        D::Switch(false), "2.5.0", Some(("2.5.0", Some(Opt::LdapVerifyPeer)));
    LdapTlsCiphers = "ldap_tls_ciphers",
        K::Str,
        D::None, "2.5.0", Some(("2.5.0", Some(Opt::LdapCiphers)));
    LdapUri = "ldap_uri", K::Str, D::None, "2.3.17", None;
    LdapVersion = "ldap_version", K::Int, D::Int(3), "2.3.17", None;
    Literalminus = "literalminus", K::Switch, D::Switch(false), "3.0.0", None;
    LmtpDowncaseRcpt = "lmtp_downcase_rcpt", K::Switch, D::Switch(true), "2.5.0", None;
    LmtpExcludeSpecialuse = "lmtp_exclude_specialuse", K::Str, D::Str("\\Snoozed"), "3.1.8", None;
    LmtpFuzzyMailboxMatch = "lmtp_fuzzy_mailbox_match", K::Switch, D::Switch(false), "2.3.17", None;
    LmtpOverQuotaPermFailure = "lmtp_over_quota_perm_failure",
        K::Switch,
        D::Switch(false), "2.3.17", None;
    LmtpPreparse = "lmtp_preparse", K::Switch, D::Switch(false), "3.3.1", None;
    LmtpStrictQuota = "lmtp_strict_quota", K::Switch, D::Switch(false), "2.3.17", None;
    LmtpStrictRfc2821 = "lmtp_strict_rfc2821", K::Switch, D::Switch(true), "2.5.0", None;
    Lmtpsocket = "lmtpsocket", K::Str, D::Str("{configdirectory}/socket/lmtp"), "2.3.17", None;
    LmtptxnTimeout = "lmtptxn_timeout", K::Duration(Unit::Seconds), D::Str("5m"), "3.1.8", None;
    LockDebugtime = "lock_debugtime", K::Str, D::None, "3.1.4", None;
    Loginrealms = "loginrealms", K::Str, D::Str(""), "2.3.17", None;
    Loginuseacl = "loginuseacl", K::Switch, D::Switch(false), "2.3.17", None;
    Logtimestamps = "logtimestamps", K::Switch, D::Switch(false), "2.3.17", None;
    MailboxDefaultOptions = "mailbox_default_options", K::Int, D::Int(0), "2.3.17", None;
    MailboxInitialFlags = "mailbox_initial_flags", K::Str, D::None, "2.5.0", None;
    MailboxLegacyDirs = "mailbox_legacy_dirs", K::Switch, D::Switch(false), "3.6.0", None;
    MailboxMaxmessagesAddressbook = "mailbox_maxmessages_addressbook",
        K::Int,
        D::Int(0), "3.3.0", None;
    MailboxMaxmessagesCalendar = "mailbox_maxmessages_calendar", K::Int, D::Int(0), "3.3.0", None;
    MailboxMaxmessagesEmail = "mailbox_maxmessages_email", K::Int, D::Int(0), "3.3.0", None;
    Mailnotifier = "mailnotifier", K::Str, D::None, "2.3.17", None;
    MasterBindErrorsFatal = "master_bind_errors_fatal", K::Switch, D::Switch(false), "3.3.0", None;
    Maxheaderlines = "maxheaderlines", K::Int, D::Int(1000), "2.3.17", None;
    MaxloginsPerHost = "maxlogins_per_host", K::Int, D::Int(0), "2.5.0", None;
    MaxloginsPerUser = "maxlogins_per_user", K::Int, D::Int(0), "2.5.0", None;
    Maxmessagesize = "maxmessagesize", K::Int, D::Int(0), "2.3.17", None;
    Maxquoted = "maxquoted", K::Int, D::Int(131072), "2.3.17", None;
    Maxword = "maxword", K::Int, D::Int(131072), "2.3.17", None;
    MboxkeyDb = "mboxkey_db",
        K::StringList(&["skiplist", "twoskip", "zeroskip"]),
        D::Str("twoskip"), "3.1.6", None;
    MboxlistDb = "mboxlist_db",
        K::StringList(&["flat", "skiplist", "sql", "twoskip", "zeroskip"]),
        D::Str("twoskip"), "3.1.6", None;
    MboxlistDbPath = "mboxlist_db_path", K::Str, D::None, "2.5.0", None;
    MboxnameLockpath = "mboxname_lockpath", K::Str, D::None, "2.4.0", None;
    MetapartitionFiles = "metapartition_files",
        K::Bitfield(&[
            "header", "index", "cache", "expunge", "squat", "annotations", "lock", "dav",
            "archivecache"
        ]),
        D::Str(""), "3.0.0", None;
    MupdateAuthname = "mupdate_authname", K::Str, D::None, "2.3.17", None;
    MupdateConfig = "mupdate_config",
        K::Enum(&["standard", "unified", "replicated"]),
        D::Str("standard"), "2.3.17", None;
    Munge8bit = "munge8bit", K::Switch, D::Switch(true), "2.3.17", None;
    MupdateConnectionsMax = "mupdate_connections_max", K::Int, D::Int(128), "2.3.17", None;
    MupdatePassword = "mupdate_password", K::Str, D::None, "2.3.17", None;
    MupdatePort = "mupdate_port", K::Int, D::Int(3905), "2.3.17", None;
    MupdateRealm = "mupdate_realm", K::Str, D::None, "2.3.17", None;
    MupdateRetryDelay = "mupdate_retry_delay", K::Int, D::Int(20), "2.3.17", None;
    MupdateServer = "mupdate_server", K::Str, D::None, "2.3.17", None;
    MupdateUsername = "mupdate_username", K::Str, D::Str(""), "2.3.17", None;
    MupdateWorkersMax = "mupdate_workers_max", K::Int, D::Int(50), "2.3.17", None;
    MupdateWorkersMaxspare = "mupdate_workers_maxspare", K::Int, D::Int(10), "2.3.17", None;
    MupdateWorkersMinspare = "mupdate_workers_minspare", K::Int, D::Int(2), "2.3.17", None;
    MupdateWorkersStart = "mupdate_workers_start", K::Int, D::Int(5), "2.3.17", None;
    Netscapeurl = "netscapeurl", K::Str, D::None, "2.3.17", None;
    Newsaddheaders = "newsaddheaders", K::Bitfield(&["to", "replyto"]), D::Str("to"), "2.5.0", None;
    Newsgroups = "newsgroups", K::Str, D::Str("*"), "2.4.0", None;
    Newsmaster = "newsmaster", K::Str, D::Str("news"), "2.3.17", None;
    Newspeer = "newspeer", K::Str, D::None, "2.3.17", None;
    Newspostuser = "newspostuser", K::Str, D::None, "2.5.0", None;
    Newsprefix = "newsprefix", K::Str, D::None, "2.3.17", None;
    NewsrcDbPath = "newsrc_db_path", K::Str, D::None, "2.5.0", None;
    Nntptimeout = "nntptimeout", K::Duration(Unit::Minutes), D::Str("3m"), "3.1.8", None;
    Notesmailbox = "notesmailbox", K::Str, D::None, "3.0.0", None;
    Notifysocket = "notifysocket",
        K::Str,
        D::Str("{configdirectory}/socket/notify"), "2.3.17", None;
    NotifyExternal = "notify_external", K::Str, D::None, "2.4.0", None;
    PartitionSelectMode = "partition_select_mode",
        K::StringList(&[
            "random", "freespace-most", "freespace-percent-most", "freespace-percent-weighted",
            "freespace-percent-weighted-delta"
        ]),
        D::Str("freespace-most"), "2.5.0", None;
    PartitionSelectExclude = "partition_select_exclude", K::Str, D::None, "2.5.0", None;
    PartitionSelectUsageReinit = "partition_select_usage_reinit", K::Int, D::Int(0), "2.5.0", None;
    PartitionSelectSoftUsageLimit = "partition_select_soft_usage_limit",
        K::Int,
        D::Int(0), "2.5.0", None;
    Plaintextloginpause = "plaintextloginpause", K::Duration(Unit::Seconds), D::None, "3.1.8", None;
    Plaintextloginalert = "plaintextloginalert", K::Str, D::None, "2.3.17", None;
    Popexpiretime = "popexpiretime", K::Duration(Unit::Days), D::Str("-1"), "3.1.8", None;
    Popminpoll = "popminpoll", K::Duration(Unit::Minutes), D::None, "3.1.8", None;
    Popsubfolders = "popsubfolders", K::Switch, D::Switch(false), "2.3.17", None;
    Poppollpadding = "poppollpadding", K::Int, D::Int(1), "2.3.17", None;
    Poptimeout = "poptimeout", K::Duration(Unit::Minutes), D::Str("10m"), "3.1.8", None;
    Popuseacl = "popuseacl", K::Switch, D::Switch(false), "2.3.17", None;
    Popuseimapflags = "popuseimapflags", K::Switch, D::Switch(false), "2.3.17", None;
    Postmaster = "postmaster", K::Str, D::Str("postmaster"), "2.3.17", None;
    Postspec = "postspec", K::Str, D::None, "2.3.17", None;
    Postuser = "postuser", K::Str, D::Str(""), "2.3.17", None;
    ProcPath = "proc_path", K::Str, D::None, "2.5.0", None;
    PrometheusEnabled = "prometheus_enabled", K::Switch, D::Switch(false), "3.1.2", None;
    PrometheusNeedAuth = "prometheus_need_auth",
        K::StringList(&["none", "user", "admin"]),
        D::Str("admin"), "3.1.2", None;
    PrometheusUpdateFreq = "prometheus_update_freq",
        K::Duration(Unit::Seconds),
        D::Str("10s"), "3.1.8", None;
    PrometheusStatsDir = "prometheus_stats_dir", K::Str, D::None, "3.1.2", None;
    ProxyAuthname = "proxy_authname", K::Str, D::Str("proxy"), "2.3.17", None;
    ProxyCompress = "proxy_compress", K::Switch, D::Switch(false), "2.3.17", None;
    ProxyPassword = "proxy_password", K::Str, D::None, "2.3.17", None;
    ProxyRealm = "proxy_realm", K::Str, D::None, "2.3.17", None;
    ProxydAllowStatusReferral = "proxyd_allow_status_referral",
        K::Switch,
        D::Switch(false), "2.3.17", None;
    ProxydDisableMailboxReferrals = "proxyd_disable_mailbox_referrals",
        K::Switch,
        D::Switch(false), "2.3.17", None;
    Proxyservers = "proxyservers", K::Str, D::None, "2.3.17", None;
    PtsModule = "pts_module", K::StringList(&["afskrb", "ldap"]), D::Str("afskrb"), "2.3.17", None;
    PtloaderSock = "ptloader_sock", K::Str, D::None, "2.3.17", None;
    PtscacheDb = "ptscache_db",
        K::StringList(&["skiplist", "twoskip", "zeroskip"]),
        D::Str("twoskip"), "3.1.6", None;
    PtscacheDbPath = "ptscache_db_path", K::Str, D::None, "2.5.0", None;
    PtscacheTimeout = "ptscache_timeout", K::Duration(Unit::Seconds), D::Str("3h"), "3.1.8", None;
    Ptskrb5Convert524 = "ptskrb5_convert524", K::Switch, D::Switch(true), "2.3.16", None;
    Ptskrb5StripDefaultRealm = "ptskrb5_strip_default_realm",
        K::Switch,
        D::Switch(true), "2.3.17", None;
    Qosmarking = "qosmarking",
        K::Enum(&[
            "cs0", "cs1", "cs2", "cs3", "cs4", "cs5", "cs6", "cs7", "af11", "af12", "af13", "af21",
            "af22", "af23", "af31", "af32", "af33", "af41", "af42", "af43", "ef"
        ]),
        D::Str("cs0"), "2.5.0", None;
    QuotaDb = "quota_db",
        K::StringList(&["flat", "skiplist", "sql", "quotalegacy", "twoskip", "zeroskip"]),
        D::Str("quotalegacy"), "3.1.6", None;
    QuotaDbPath = "quota_db_path", K::Str, D::None, "2.5.0", None;
    QuotaUseConversations = "quota_use_conversations", K::Switch, D::Switch(false), "3.3.0", None;
    Quotawarn = "quotawarn", K::Int, D::Int(90), "2.3.17", None;
    Quotawarnkb = "quotawarnkb", K::Int, D::Int(0), "2.3.17", None;
    Quotawarnmsg = "quotawarnmsg", K::Int, D::Int(0), "2.5.0", None;
    Readonly = "readonly", K::Switch, D::Switch(false), "3.3.0", None;
    Reject8bit = "reject8bit", K::Switch, D::Switch(false), "2.3.17", None;
    RestoreAuthname = "restore_authname", K::Str, D::None, "3.0.0", None;
    RestorePassword = "restore_password", K::Str, D::None, "3.0.0", None;
    RestoreRealm = "restore_realm", K::Str, D::None, "3.0.0", None;
    Reverseacls = "reverseacls", K::Switch, D::Switch(false), "3.0.0", None;
    Reverseuniqueids = "reverseuniqueids",
        K::Switch,
        D::Switch(true), "3.6.0", Some(("3.6.0", None));
    Rfc2046Strict = "rfc2046_strict", K::Switch, D::Switch(false), "2.3.17", None;
    Rfc2047Utf8 = "rfc2047_utf8", K::Switch, D::Switch(false), "3.0.0", None;
    Rfc3028Strict = "rfc3028_strict", K::Switch, D::Switch(true), "2.3.17", None;
    RssFeedlistTemplate = "rss_feedlist_template", K::Str, D::None, "2.5.0", None;
    RssFeeds = "rss_feeds", K::Str, D::Str("*"), "2.5.0", None;
    RssMaxage = "rss_maxage", K::Duration(Unit::Days), D::None, "3.1.8", None;
    RssMaxitems = "rss_maxitems", K::Int, D::Int(0), "2.5.0", None;
    RssMaxsynopsis = "rss_maxsynopsis", K::Int, D::Int(0), "2.5.0", None;
    RssRealm = "rss_realm", K::Str, D::None, "2.5.0", None;
    SaslMaximumLayer = "sasl_maximum_layer", K::Int, D::Int(256), "2.3.17", None;
    SaslMinimumLayer = "sasl_minimum_layer", K::Int, D::Int(0), "2.3.17", None;
    SearchBatchsize = "search_batchsize", K::Int, D::Int(20), "3.0.0", None;
    SearchAttachmentExtractorUrl = "search_attachment_extractor_url",
        K::Str,
        D::None, "3.3.1", None;
    SearchIndexLanguage = "search_index_language", K::Switch, D::Switch(false), "3.3.1", None;
    SearchIndexParts = "search_index_parts",
        K::Switch,
        D::Switch(false), "3.2.1", Some(("3.2.1", None));
    SearchIndexSkipDomains = "search_index_skip_domains", K::Str, D::None, "3.3.1", None;
    SearchIndexSkipUsers = "search_index_skip_users", K::Str, D::None, "3.3.1", None;
    SearchQueryLanguage = "search_query_language",
        K::Switch,
        D::Switch(false), "3.3.0", Some(("3.3.0", None));
    SearchNormalisationMax = "search_normalisation_max", K::Int, D::Int(1000), "3.0.0", None;
    SearchEngine = "search_engine",
        K::Enum(&["none", "squat", "xapian"]),
        D::Str("none"), "3.1.2", None;
    SearchFuzzyAlways = "search_fuzzy_always", K::Switch, D::Switch(false), "3.1.5", None;
    SearchIndexHeaders = "search_index_headers", K::Switch, D::Switch(true), "3.0.0", None;
    SearchIndexedDb = "search_indexed_db",
        K::StringList(&["flat", "skiplist", "twoskip", "zeroskip"]),
        D::Str("twoskip"), "3.1.6", None;
    SearchMaxtime = "search_maxtime", K::Str, D::None, "3.0.0", None;
    SearchMaxsize = "search_maxsize", K::Int, D::Int(4096), "3.6.0", None;
    SearchQueryscan = "search_queryscan", K::Int, D::Int(5000), "3.1.7", None;
    SearchSkipdiacrit = "search_skipdiacrit", K::Switch, D::Switch(true), "2.5.0", None;
    SearchSkiphtml = "search_skiphtml", K::Switch, D::Switch(false), "3.0.0", None;
    SearchWhitespace = "search_whitespace",
        K::Enum(&["skip", "merge", "keep"]),
        D::Str("merge"), "2.5.0", None;
    SearchSnippetLength = "search_snippet_length", K::Int, D::Int(255), "3.0.0", None;
    SearchStopwordPath = "search_stopword_path", K::Str, D::None, "3.1.7", None;
    SeenstateDb = "seenstate_db",
        K::StringList(&["flat", "skiplist", "twoskip", "zeroskip"]),
        D::Str("twoskip"), "3.1.6", None;
    Sendmail = "sendmail", K::Str, D::Str("/usr/lib/sendmail"), "2.3.17", None;
    SendmailAuthId = "sendmail_auth_id", K::Str, D::Str("CYRUS_SENDMAIL_AUTH_ID"), "3.1.3", None;
    Serverlist = "serverlist", K::Str, D::None, "2.3.17", None;
    ServerlistSelectMode = "serverlist_select_mode",
        K::StringList(&[
            "random", "freespace-most", "freespace-percent-most", "freespace-percent-weighted",
            "freespace-percent-weighted-delta"
        ]),
        D::Str("freespace-most"), "2.5.0", None;
    ServerlistSelectUsageReinit = "serverlist_select_usage_reinit",
        K::Int,
        D::Int(0), "2.5.0", None;
    ServerlistSelectSoftUsageLimit = "serverlist_select_soft_usage_limit",
        K::Int,
        D::Int(0), "2.5.0", None;
    Servername = "servername", K::Str, D::None, "2.3.17", None;
    Serverinfo = "serverinfo", K::Enum(&["off", "min", "on"]), D::Str("on"), "2.3.17", None;
    Sharedprefix = "sharedprefix", K::Str, D::Str("Shared Folders"), "2.3.17", None;
    SieveAllowreferrals = "sieve_allowreferrals", K::Switch, D::Switch(true), "2.3.17", None;
    SieveDuplicateMaxExpiration = "sieve_duplicate_max_expiration",
        K::Duration(Unit::Seconds),
        D::Str("90d"), "3.1.8", None;
    SieveExtensions = "sieve_extensions",
        K::Bitfield(&[
            "fileinto", "reject", "vacation", "vacation-seconds", "notify", "include", "envelope",
            "environment", "body", "relational", "regex", "subaddress", "copy", "date", "index",
            "imap4flags=imapflags", "mailbox", "mboxmetadata", "servermetadata", "variables",
            "editheader", "extlists", "duplicate", "ihave", "fcc", "special-use", "redirect-dsn",
            "redirect-deliverby", "mailboxid", "vnd.cyrus.log=x-cyrus-log",
            "vnd.cyrus.jmapquery=x-cyrus-jmapquery", "vnd.cyrus.imip",
            "snooze=vnd.cyrus.snooze=x-cyrus-snooze"
        ]),
        D::Str(
            "fileinto reject vacation vacation-seconds notify include envelope environment \
             body relational regex subaddress copy date index imap4flags mailbox mboxmetadata \
             servermetadata variables editheader extlists duplicate ihave fcc special-use \
             redirect-dsn redirect-deliverby mailboxid vnd.cyrus.log vnd.cyrus.jmapquery \
             vnd.cyrus.imip snooze",
        ), "3.6.0", None;
    SieveFolder = "sieve_folder", K::Str, D::Str("#sieve"), "3.6.0", None;
    SieveMaxscriptsize = "sieve_maxscriptsize", K::Int, D::Int(32), "2.3.17", None;
    SieveMaxscripts = "sieve_maxscripts", K::Int, D::Int(5), "2.3.17", None;
    SieveUtf8fileinto = "sieve_utf8fileinto", K::Switch, D::Switch(false), "2.3.17", None;
    SieveSaslSendUnsolicitedCapability = "sieve_sasl_send_unsolicited_capability",
        K::Switch,
        D::Switch(false), "2.3.17", None;
    SieveUseLmtpReject = "sieve_use_lmtp_reject", K::Switch, D::Switch(true), "3.1.1", None;
    SieveVacationMinResponse = "sieve_vacation_min_response",
        K::Duration(Unit::Seconds),
        D::Str("3d"), "3.1.8", None;
    SieveVacationMaxResponse = "sieve_vacation_max_response",
        K::Duration(Unit::Seconds),
        D::Str("90d"), "3.1.8", None;
    Sievedir = "sievedir", K::Str, D::Str("/usr/sieve"), "2.3.17", None;
    Sievenotifier = "sievenotifier", K::Str, D::None, "2.3.17", None;
    Sieveusehomedir = "sieveusehomedir", K::Switch, D::Switch(false), "2.3.17", None;
    Anysievefolder = "anysievefolder", K::Switch, D::Switch(false), "2.5.0", None;
    Singleinstancestore = "singleinstancestore", K::Switch, D::Switch(true), "2.3.17", None;
    SkiplistAlwaysCheckpoint = "skiplist_always_checkpoint",
        K::Switch,
        D::Switch(true), "2.3.17", None;
    SkiplistUnsafe = "skiplist_unsafe", K::Switch, D::Switch(false), "2.3.17", None;
    SmtpBackend = "smtp_backend",
        K::StringList(&["host", "sendmail"]),
        D::Str("sendmail"), "3.1.4", None;
    SmtpHost = "smtp_host", K::Str, D::Str("localhost:587"), "3.1.4", None;
    SmtpAuthAuthname = "smtp_auth_authname", K::Str, D::None, "3.1.4", None;
    SmtpAuthPassword = "smtp_auth_password", K::Str, D::None, "3.1.4", None;
    SmtpAuthRealm = "smtp_auth_realm", K::Str, D::None, "3.1.4", None;
    SoftNoauth = "soft_noauth", K::Switch, D::Switch(true), "2.3.17", None;
    SortcacheDb = "sortcache_db",
        K::StringList(&["skiplist", "twoskip", "zeroskip"]),
        D::Str("twoskip"), "3.1.6", None;
    SpecialuseExtra = "specialuse_extra", K::Str, D::None, "2.5.0", None;
    SpecialuseNochildren = "specialuse_nochildren", K::Str, D::None, "3.6.0", None;
    SpecialuseProtect = "specialuse_protect",
        K::Str,
        D::Str("\\Archive \\Drafts \\Important \\Junk \\Sent \\Trash"), "3.1.7", None;
    Specialusealways = "specialusealways", K::Switch, D::Switch(true), "3.1.1", None;
    SqlDatabase = "sql_database", K::Str, D::None, "2.3.17", None;
    SqlEngine = "sql_engine", K::StringList(&["mysql", "pgsql", "sqlite"]), D::None, "2.3.17", None;
    SqlHostnames = "sql_hostnames", K::Str, D::Str(""), "2.3.17", None;
    SqlPasswd = "sql_passwd", K::Str, D::None, "2.3.17", None;
    SqlUser = "sql_user", K::Str, D::None, "2.3.17", None;
    SqlUsessl = "sql_usessl", K::Switch, D::Switch(false), "2.3.17", None;
    SrsAlwaysrewrite = "srs_alwaysrewrite", K::Switch, D::Switch(false), "2.5.0", None;
    SrsDomain = "srs_domain", K::Str, D::None, "3.1.2", None;
    SrsHashlength = "srs_hashlength", K::Int, D::Int(0), "3.1.2", None;
    SrsSecrets = "srs_secrets", K::Str, D::None, "3.1.2", None;
    SrsSeparator = "srs_separator", K::Str, D::None, "3.1.2", None;
    Srvtab = "srvtab", K::Str, D::Str(""), "2.3.17", None;
    Submitservers = "submitservers", K::Str, D::None, "2.3.17", None;
    SubscriptionDb = "subscription_db",
        K::StringList(&["flat", "skiplist", "twoskip", "zeroskip"]),
        D::Str("flat"), "3.1.6", None;
    SuppressCapabilities = "suppress_capabilities", K::Str, D::None, "3.0.0", None;
    Statuscache = "statuscache", K::Switch, D::Switch(false), "2.3.17", None;
    StatuscacheDb = "statuscache_db",
        K::StringList(&["skiplist", "sql", "twoskip", "zeroskip"]),
        D::Str("twoskip"), "3.1.6", None;
    StatuscacheDbPath = "statuscache_db_path", K::Str, D::None, "2.5.0", None;
    SyncAuthname = "sync_authname", K::Str, D::None, "2.5.0", None;
    SyncBatchsize = "sync_batchsize", K::Int, D::Int(8192), "3.0.0", None;
    SyncCacheDb = "sync_cache_db",
        K::StringList(&["skiplist", "sql", "twoskip", "zeroskip"]),
        D::Str("twoskip"), "3.3.1", None;
    SyncCacheDbPath = "sync_cache_db_path", K::Str, D::None, "3.3.1", None;
    SyncHost = "sync_host", K::Str, D::None, "2.5.0", None;
    SyncLog = "sync_log", K::Switch, D::Switch(false), "2.3.17", None;
    SyncLogChain = "sync_log_chain", K::Switch, D::Switch(false), "2.4.0", None;
    SyncLogChannels = "sync_log_channels", K::Str, D::None, "2.5.0", None;
    SyncLogUnsuppressableChannels = "sync_log_unsuppressable_channels",
        K::Str,
        D::Str("squatter"), "2.5.0", None;
    SyncPassword = "sync_password", K::Str, D::None, "2.5.0", None;
    SyncPort = "sync_port", K::Str, D::None, "3.0.0", None;
    SyncRealm = "sync_realm", K::Str, D::None, "2.5.0", None;
    SyncReconnectMaxwait = "sync_reconnect_maxwait",
        K::Duration(Unit::Seconds),
        D::Str("20m"), "3.6.0", None;
    SyncRepeatInterval = "sync_repeat_interval",
        K::Duration(Unit::Seconds),
        D::Str("1s"), "3.1.8", None;
    SyncRightnowChannel = "sync_rightnow_channel", K::Str, D::None, "3.3.1", None;
    SyncShutdownFile = "sync_shutdown_file", K::Str, D::None, "2.5.0", None;
    SyncTimeout = "sync_timeout", K::Duration(Unit::Seconds), D::Str("30m"), "3.1.8", None;
    // Not a Cyrus 3.6 option: the Cyrus replication guide and sample configs set it, 3.6
    // ignores it (compression is negotiated anyway; `sync_client -z` makes it mandatory).
    // Accepted and typed so those configs load without a warning.
    SyncCompress = "sync_compress", K::Switch, D::Switch(false), "ext", None;
    SyncTryImap = "sync_try_imap", K::Switch, D::Switch(true), "3.0.0", None;
    SyslogPrefix = "syslog_prefix", K::Str, D::None, "3.1.8", None;
    SyslogFacility = "syslog_facility", K::Str, D::None, "2.5.0", None;
    TcpKeepalive = "tcp_keepalive", K::Switch, D::Switch(false), "2.4.0", None;
    TcpKeepaliveCnt = "tcp_keepalive_cnt", K::Int, D::Int(0), "2.4.0", None;
    TcpKeepaliveIdle = "tcp_keepalive_idle", K::Duration(Unit::Seconds), D::Str("0"), "3.1.8", None;
    TcpKeepaliveIntvl = "tcp_keepalive_intvl",
        K::Duration(Unit::Seconds),
        D::Str("0"), "3.1.8", None;
    TempPath = "temp_path", K::Str, D::Str("/tmp"), "3.3.0", None;
    TelemetryBysessionid = "telemetry_bysessionid", K::Switch, D::Switch(false), "3.0.0", None;
    Timeout = "timeout", K::Duration(Unit::Minutes), D::Str("32m"), "3.1.8", None;
    Imapidletimeout = "imapidletimeout", K::Duration(Unit::Minutes), D::None, "3.1.8", None;
    TlsCaFile = "tls_ca_file",
        K::Str,
        D::None, "2.5.0", Some(("2.5.0", Some(Opt::TlsClientCaFile)));
    TlsCaPath = "tls_ca_path", K::Str, D::None, "2.5.0", Some(("2.5.0", Some(Opt::TlsClientCaDir)));
    TlscacheDb = "tlscache_db",
        K::StringList(&["skiplist", "sql", "twoskip", "zeroskip"]),
        D::Str("twoskip"), "2.5.0", Some(("2.5.0", Some(Opt::TlsSessionsDb)));
    TlscacheDbPath = "tlscache_db_path",
        K::Str,
        D::None, "2.5.0", Some(("2.5.0", Some(Opt::TlsSessionsDbPath)));
    TlsCertFile = "tls_cert_file",
        K::Str,
        D::None, "2.5.0", Some(("2.5.0", Some(Opt::TlsServerCert)));
    TlsCipherList = "tls_cipher_list",
        K::Str,
        D::Str("DEFAULT"), "2.5.0", Some(("2.5.0", Some(Opt::TlsCiphers)));
    TlsCiphers = "tls_ciphers", K::Str, D::Str("DEFAULT"), "2.5.0", None;
    TlsCrlFile = "tls_crl_file", K::Str, D::None, "3.1.2", None;
    TlsClientCaDir = "tls_client_ca_dir", K::Str, D::None, "2.5.0", None;
    TlsClientCaFile = "tls_client_ca_file", K::Str, D::None, "2.5.0", None;
    TlsClientCert = "tls_client_cert", K::Str, D::None, "2.5.0", None;
    TlsClientCerts = "tls_client_certs",
        K::Enum(&["off", "optional", "require"]),
        D::Str("optional"), "2.5.0", None;
    TlsClientKey = "tls_client_key", K::Str, D::None, "2.5.0", None;
    TlsEccurve = "tls_eccurve", K::Str, D::Str("prime256v1"), "2.5.0", None;
    TlsKeyFile = "tls_key_file", K::Str, D::None, "2.5.0", Some(("2.5.0", Some(Opt::TlsServerKey)));
    TlsRequired = "tls_required", K::Switch, D::Switch(false), "3.0.0", None;
    TlsPreferServerCiphers = "tls_prefer_server_ciphers",
        K::Switch,
        D::Switch(false), "2.5.0", None;
    TlsServerCaDir = "tls_server_ca_dir", K::Str, D::None, "2.5.0", None;
    TlsServerCaFile = "tls_server_ca_file", K::Str, D::None, "2.5.0", None;
    TlsServerCert = "tls_server_cert", K::Str, D::None, "3.1.8", None;
    TlsServerDhparam = "tls_server_dhparam", K::Str, D::None, "3.1.4", None;
    TlsServerKey = "tls_server_key", K::Str, D::None, "3.1.8", None;
    TlsSessionsDb = "tls_sessions_db",
        K::StringList(&["skiplist", "sql", "twoskip", "zeroskip"]),
        D::Str("twoskip"), "3.1.6", None;
    TlsSessionsDbPath = "tls_sessions_db_path", K::Str, D::None, "2.5.0", None;
    TlsSessionTimeout = "tls_session_timeout",
        K::Duration(Unit::Minutes),
        D::Str("24h"), "3.1.8", None;
    TlsVersions = "tls_versions", K::Str, D::Str("tls1_0 tls1_1 tls1_2 tls1_3"), "3.1.8", None;
    UidlFormat = "uidl_format",
        K::Enum(&["uidonly", "cyrus", "dovecot", "courier"]),
        D::Str("cyrus"), "3.0.0", None;
    Umask = "umask", K::Str, D::Str("077"), "2.3.17", None;
    UserdenyDb = "userdeny_db",
        K::StringList(&["flat", "skiplist", "sql", "twoskip", "zeroskip"]),
        D::Str("flat"), "3.1.6", None;
    UserdenyDbPath = "userdeny_db_path", K::Str, D::None, "2.5.0", None;
    UsernameTolower = "username_tolower", K::Switch, D::Switch(true), "2.3.17", None;
    Userprefix = "userprefix", K::Str, D::Str("Other Users"), "2.3.17", None;
    UnixGroupEnable = "unix_group_enable", K::Switch, D::Switch(true), "2.3.17", None;
    Unixhierarchysep = "unixhierarchysep", K::Switch, D::Switch(true), "3.0.0", None;
    VcardMaxSize = "vcard_max_size", K::Int, D::Int(0), "3.6.0", None;
    Virtdomains = "virtdomains", K::Enum(&["off", "userid", "on"]), D::Str("off"), "3.1.8", None;
    VirusscanNotificationSubject = "virusscan_notification_subject",
        K::Str,
        D::Str("Automatically deleted mail"), "3.1.8", None;
    VirusscanNotificationTemplate = "virusscan_notification_template",
        K::Str,
        D::None, "3.1.8", None;
    WebsocketTimeout = "websocket_timeout",
        K::Duration(Unit::Minutes),
        D::Str("30m"), "3.6.0", None;
    XbackupEnabled = "xbackup_enabled", K::Switch, D::Switch(false), "3.0.0", None;
    LmtpCatchallMailbox = "lmtp_catchall_mailbox", K::Str, D::None, "2.5.0", None;
    ZoneinfoDb = "zoneinfo_db",
        K::StringList(&["flat", "skiplist", "twoskip", "zeroskip"]),
        D::Str("twoskip"), "3.1.6", None;
    ZoneinfoDbPath = "zoneinfo_db_path", K::Str, D::None, "2.5.0", None;
    ZoneinfoDir = "zoneinfo_dir", K::Str, D::None, "3.2.0", None;
    ObjectStorageEnabled = "object_storage_enabled", K::Switch, D::Switch(false), "3.0.0", None;
    ObjectStorageDummySpool = "object_storage_dummy_spool", K::Str, D::None, "3.0.0", None;
    OpenioNamespace = "openio_namespace", K::Str, D::None, "3.0.0", None;
    OpenioAccount = "openio_account", K::Str, D::None, "3.0.0", None;
    OpenioRawxTimeout = "openio_rawx_timeout",
        K::Duration(Unit::Seconds),
        D::Str("30s"), "3.1.8", None;
    OpenioProxyTimeout = "openio_proxy_timeout",
        K::Duration(Unit::Seconds),
        D::Str("5s"), "3.1.8", None;
    OpenioAutocreate = "openio_autocreate", K::Switch, D::Switch(false), "3.0.0", None;
    OpenioVerbosity = "openio_verbosity", K::Str, D::None, "3.0.0", None;
    CaringoHostname = "caringo_hostname", K::Str, D::None, "3.0.0", None;
    CaringoPort = "caringo_port", K::Int, D::Int(80), "3.0.0", None;
    Fastmailsharing = "fastmailsharing", K::Switch, D::Switch(false), "3.0.0", None;
}
